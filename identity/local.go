package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// A hub run with no identity provider signs its own tokens: a P-256 key created in the data
// directory on first use, so that `apphub token` (run against the same directory) mints tokens
// the running hub accepts. It is for trying the hub out and for tests, never for production:
// whoever can read the data directory can be anyone.

// Local issuer and audience of the hub's own tokens.
const (
	LocalIssuer   = "apphub-local"
	LocalAudience = "apphub"
	localKeyFile  = "identity-key.json"
)

// LocalKey is the hub's own signing key.
type LocalKey struct {
	private jose.JSONWebKey
}

// LocalKeyPath is the file of the local key of the data directory dir.
func LocalKeyPath(dir string) string { return filepath.Join(dir, localKeyFile) }

// OpenLocalKey reads the key in dir, creating it (and dir) the first time. Two processes that
// create it at once agree on one: the file is linked into place, never overwritten.
func OpenLocalKey(dir string) (*LocalKey, error) {
	path := LocalKeyPath(dir)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if raw, err = createLocalKey(dir, path); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("identity: read the local key: %w", err)
	}
	var k jose.JSONWebKey
	if err := json.Unmarshal(raw, &k); err != nil || k.IsPublic() || !k.Valid() {
		return nil, fmt.Errorf("identity: %s is not a private JSON Web Key (%v)", path, err)
	}
	return &LocalKey{private: k}, nil
}

func createLocalKey(dir, path string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("identity: create %s: %w", dir, err)
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	k := jose.JSONWebKey{Key: priv, KeyID: "local-" + rand.Text()[:8], Algorithm: string(jose.ES256), Use: "sig"}
	raw, err := json.Marshal(k)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".identity-key-*")
	if err != nil {
		return nil, fmt.Errorf("identity: write the local key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return os.ReadFile(path) // another process made one first: use it
		}
		return nil, fmt.Errorf("identity: write the local key: %w", err)
	}
	return raw, nil
}

// Config is the verifier configuration that trusts this key.
func (l *LocalKey) Config() Config {
	return Config{Issuer: LocalIssuer, Audience: LocalAudience,
		Keys: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{l.private.Public()}}}
}

// TokenRequest is what a minted token says.
type TokenRequest struct {
	Party     string
	Roles     []string
	Resources []string // an agent's
	Places    []string // an agent's
	Parties   []string // a partner's
	TTL       time.Duration
	Now       time.Time
}

// Mint signs a token for r with the local key.
func (l *LocalKey) Mint(r TokenRequest) (string, error) {
	if r.Party == "" || len(r.Roles) == 0 {
		return "", errors.New("identity: a token needs a party and a role")
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: l.private}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	now := r.Now
	if now.IsZero() {
		now = time.Now()
	}
	std := jwt.Claims{Issuer: LocalIssuer, Audience: jwt.Audience{LocalAudience}, Subject: r.Party,
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(r.TTL))}
	extra := map[string]any{"roles": r.Roles}
	for name, v := range map[string][]string{"resources": r.Resources, "places": r.Places, "parties": r.Parties} {
		if len(v) > 0 {
			extra[name] = v
		}
	}
	return jwt.Signed(signer).Claims(std).Claims(extra).Serialize()
}

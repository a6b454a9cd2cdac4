package apphub

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// APIKey is a key the hub issued to a partner (or an operator's tool): the key itself is shown
// once, when it is made; the hub keeps only its hash, which is the record's id.
type APIKey struct {
	ID         string // APIKeyID of the key
	Name       string
	Role       string   // the role it acts with (RolePartner, RoleAdmin)
	Parties    []string // a partner's: the customer parties it may act for
	CreatedBy  string   // the Ref of the admin who made it
	CreatedAt  time.Time
	LastUsedAt time.Time // within a minute or so: it is not written on every request
	RevokedAt  time.Time // zero while it works
}

// APIKeyPrefix starts every key the hub issues, so that a bearer credential is told apart from
// a JWT at a glance.
const APIKeyPrefix = "apphub_"

// APIKeyID is the id (SHA-256, hex) under which a key is kept.
func APIKeyID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Principal is who the key acts as.
func (k APIKey) Principal() Principal {
	return Principal{PartyID: k.Name, Roles: []string{k.Role}, Parties: k.Parties, KeyID: k.ID}
}

package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/identity"
)

var tokenRoles = []string{apphub.RoleCustomer, apphub.RoleAgent, apphub.RolePartner, apphub.RoleAdmin}

// tokenCommand is the token subcommand: it prints a token signed by the local key of
// --data-dir. It reads (or, the first time, creates) only the key file, so it runs beside a
// hub that holds the directory's lock.
func tokenCommand(args []string, getenv func(string) string, stdout, stderr io.Writer, h hooks) error {
	dataDir, ttl := "./data", time.Hour
	var party, role string
	var resources, places, parties listValue
	fs, err := declare("token", "apphub token --party ID --role customer|agent|partner|admin [flags]", []option{
		{"data-dir", "APPHUB_DATA_DIR", "the hub's data `directory`, which holds its local key (created there if missing)", (*stringValue)(&dataDir)},
		{"party", "", "the `party` the token names (its sub): a customer's own party id, an agent's, a partner's or an admin's name", (*stringValue)(&party)},
		{"role", "", "the token's `role`: customer, agent, partner or admin", (*stringValue)(&role)},
		{"resource", "", "an agent's: a `resource` it serves (repeatable, or comma-separated)", &resources},
		{"place", "", "an agent's: a `place` it serves (repeatable, or comma-separated)", &places},
		{"for-party", "", "a partner's: a customer `party` it may act for (repeatable, or comma-separated)", &parties},
		{"ttl", "", "how long the token is valid (a `duration`)", (*durationValue)(&ttl)},
	}, getenv, stderr)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var errs []error
	if party == "" {
		errs = append(errs, errors.New("--party: required"))
	}
	if !slices.Contains(tokenRoles, role) {
		errs = append(errs, fmt.Errorf("--role: %q is not one of %v", role, tokenRoles))
	}
	// Scopes that the role would not use are refused rather than minted: a token that seems to
	// grant something it does not is a trap.
	if len(resources)+len(places) > 0 && role != apphub.RoleAgent {
		errs = append(errs, errors.New("--resource and --place: only an agent's token has them"))
	}
	if len(parties) > 0 && role != apphub.RolePartner {
		errs = append(errs, errors.New("--for-party: only a partner's token has it"))
	}
	if ttl <= 0 {
		errs = append(errs, errors.New("--ttl: must be positive"))
	}
	if dataDir == "" {
		errs = append(errs, errors.New("--data-dir: must not be empty"))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	key, err := identity.OpenLocalKey(dataDir)
	if err != nil {
		return err
	}
	token, err := key.Mint(identity.TokenRequest{Party: party, Roles: []string{role}, Resources: resources, Places: places,
		Parties: parties, TTL: ttl, Now: h.clock()()})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, token)
	return err
}

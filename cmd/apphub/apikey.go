package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"
)

// apikeyCommand is the apikey subcommand: create, revoke or list API keys. It calls the running
// hub's GraphQL API as an admin rather than opening the store itself: the embedded store is
// locked by the hub that serves it, and the hub is the one place where who may do this is
// decided.
func apikeyCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usage = "apphub apikey create|revoke|list --url URL --token ADMIN_TOKEN [flags]\n\n" +
		"  create --name NAME [--role partner|admin] [--for-party ID]...   prints the key (shown once) on stdout\n" +
		"  revoke --id ID\n" +
		"  list"
	var action string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	hubURL, role := "http://localhost:8080", "partner"
	var token, name, id string
	var parties listValue
	fs, err := declare("apikey", usage, []option{
		{"url", "APPHUB_URL", "the running hub's base `URL`", (*stringValue)(&hubURL)},
		{"token", "APPHUB_TOKEN", "an admin's bearer `token` or API key (apphub token --role admin mints one in local-key mode)", (*stringValue)(&token)},
		{"name", "", "create: who the key is for (e.g. the partner's `name`); also the party it acts as", (*stringValue)(&name)},
		{"role", "", "create: the key's `role`, partner or admin", (*stringValue)(&role)},
		{"for-party", "", "create: a partner's customer `party` it may act for (repeatable, or comma-separated)", &parties},
		{"id", "", "revoke: the key's `id` (as create and list show it)", (*stringValue)(&id)},
	}, getenv, stderr)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if action == "" && fs.NArg() > 0 {
		action = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if token == "" {
		return errors.New("--token: required (an admin's token; in local-key mode: apphub token --party ops --role admin)")
	}
	c := &hubClient{url: strings.TrimRight(hubURL, "/") + "/graphql", token: token}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	switch action {
	case "create":
		if name == "" {
			return errors.New("--name: required")
		}
		var out struct {
			CreateAPIKey struct {
				Key    string
				APIKey *apiKeyView `json:"apiKey"`
				Error  *struct{ Code, Message string }
			} `json:"createApiKey"`
		}
		err := c.do(ctx, `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
			key apiKey { id name role parties createdAt } error { code message } } }`,
			map[string]any{"input": map[string]any{"name": name, "role": role, "parties": parties}}, &out)
		if err != nil {
			return err
		}
		p := out.CreateAPIKey
		if p.Error != nil {
			return fmt.Errorf("the hub refused: %s (%s)", p.Error.Message, p.Error.Code)
		}
		if p.Key == "" || p.APIKey == nil {
			return errors.New("the hub answered no key")
		}
		// The key alone on stdout, so that KEY=$(apphub apikey create ...) keeps it; the rest
		// for the person reading.
		fmt.Fprintln(stdout, p.Key)
		fmt.Fprintf(stderr, "API key %s for %s (%s%s), created %s.\nThe key above is shown this once: the hub keeps only its hash. Send it as: Authorization: Bearer <key>\n",
			p.APIKey.ID, p.APIKey.Name, p.APIKey.Role, partiesNote(p.APIKey.Parties), p.APIKey.CreatedAt.Format(time.RFC3339))
		return nil
	case "revoke":
		if id == "" {
			return errors.New("--id: required")
		}
		var out struct {
			RevokeAPIKey *apiKeyView `json:"revokeApiKey"`
		}
		if err := c.do(ctx, `mutation($id: ID!) { revokeApiKey(id: $id) { id name revokedAt } }`, map[string]any{"id": id}, &out); err != nil {
			return err
		}
		if out.RevokeAPIKey == nil {
			return fmt.Errorf("no API key has the id %q", id)
		}
		fmt.Fprintf(stdout, "revoked %s (%s) at %s\n", out.RevokeAPIKey.ID, out.RevokeAPIKey.Name, out.RevokeAPIKey.RevokedAt.Format(time.RFC3339))
		return nil
	case "list":
		var out struct {
			APIKeys []apiKeyView `json:"apiKeys"`
		}
		if err := c.do(ctx, `{ apiKeys { id name role parties createdAt lastUsedAt revokedAt } }`, nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tPARTIES\tCREATED\tLAST USED\tREVOKED")
		for _, k := range out.APIKeys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Role, orDash(strings.Join(k.Parties, ",")),
				k.CreatedAt.Format(time.RFC3339), timeOrDash(k.LastUsedAt), timeOrDash(k.RevokedAt))
		}
		return tw.Flush()
	case "":
		fs.Usage()
		return errors.New("apikey: say create, revoke or list")
	default:
		return fmt.Errorf("apikey: unknown action %q (want create, revoke or list)", action)
	}
}

// apiKeyView is an ApiKey as the GraphQL API returns it.
type apiKeyView struct {
	ID         string
	Name       string
	Role       string
	Parties    []string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

func partiesNote(parties []string) string {
	if len(parties) == 0 {
		return ""
	}
	return ", for " + strings.Join(parties, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// hubClient posts GraphQL documents to a hub with a bearer credential.
type hubClient struct {
	url, token string
}

// do runs a document and decodes its data into out. GraphQL errors, and answers that are not
// GraphQL (a proxy's error page, a 401 of the hub's own), are errors naming their code.
func (c *hubClient) do(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("the hub at %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("the hub at %s: %w", c.url, err)
	}
	var answer struct {
		Data   json.RawMessage
		Errors []struct {
			Message    string
			Extensions struct{ Code string }
		}
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return fmt.Errorf("the hub at %s answered %s, not GraphQL: %.200s", c.url, resp.Status, raw)
	}
	if len(answer.Errors) > 0 {
		var msgs []string
		for _, e := range answer.Errors {
			msgs = append(msgs, fmt.Sprintf("%s (%s)", e.Message, e.Extensions.Code))
		}
		return fmt.Errorf("the hub refused: %s", strings.Join(msgs, "; "))
	}
	if len(answer.Data) == 0 || string(answer.Data) == "null" {
		return fmt.Errorf("the hub at %s answered %s with no data", c.url, resp.Status)
	}
	return json.Unmarshal(answer.Data, out)
}

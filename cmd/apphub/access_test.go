package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/apphub/apphub"
)

// gqlAnswer posts a document and returns its data and its errors' codes, without failing on
// errors: the caller decides what it expected.
func gqlAnswer(t *testing.T, base, token, query string, vars map[string]any) (map[string]any, []string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   map[string]any
		Errors []struct{ Extensions struct{ Code string } }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, e := range out.Errors {
		codes = append(codes, e.Extensions.Code)
	}
	return out.Data, codes
}

// Every operation of both APIs, made on another party's objects, is refused — not found
// (its existence is not revealed) or forbidden — and changes nothing; lists never show them.
func TestAnotherPartysObjectsOverBothAPIs(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil, nil)
	if err := loadDemo(context.Background(), h.hub.svc, h.hub.logger, nil); err != nil {
		t.Fatal(err)
	}
	custA, custB := h.token(t, "cust-a", apphub.RoleCustomer), h.token(t, "cust-b", apphub.RoleCustomer)
	partnerP, partnerQ := h.token(t, "partner-p", apphub.RolePartner), h.token(t, "partner-q", apphub.RolePartner)
	admin := h.token(t, "ops", apphub.RoleAdmin)
	start, tech, _ := firstSlot(t, h)
	d := gql(t, h.url, custA, `mutation($s: Time!, $r: ID!) { bookAppointment(input: {category: "repair", place: "75011", resource: $r, start: $s}) {
		appointment { id } error { code message } } }`, map[string]any{"s": start, "r": tech})
	id, _ := dig(d, "bookAppointment", "appointment", "id").(string)
	if id == "" {
		t.Fatalf("book as A: %v", d)
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		d, _ := gqlAnswer(t, h.url, admin, `query($id: ID!) { appointment(id: $id) { version status start } }`, map[string]any{"id": id})
		if dig(d, "appointment", "version") != float64(1) || dig(d, "appointment", "status") != "INITIALIZED" || dig(d, "appointment", "start") != start {
			t.Fatalf("A's appointment changed: %v", d)
		}
	}
	api := h.url + "/tmf-api/appointment/v4/"

	for name, token := range map[string]string{"another customer": custB, "a partner not acting for A": partnerQ} {
		t.Run("GraphQL as "+name, func(t *testing.T) {
			reads := []string{
				`query($id: ID!) { appointment(id: $id) { id history { version } } }`,
			}
			for _, q := range reads {
				if d, codes := gqlAnswer(t, h.url, token, q, map[string]any{"id": id}); dig(d, "appointment") != nil || len(codes) != 0 {
					t.Errorf("%s: %v %v, want null", q, d, codes)
				}
			}
			if d, _ := gqlAnswer(t, h.url, token, `{ appointments { totalCount edges { node { id } } } }`, nil); dig(d, "appointments", "totalCount") != float64(0) {
				t.Errorf("the list shows others' appointments: %v", d)
			}
			mutations := map[string]string{
				"rescheduleAppointment": `mutation($id: ID!) { rescheduleAppointment(input: {id: $id, start: "` + start + `"}) { error { __typename } } }`,
				"cancelAppointment":     `mutation($id: ID!) { cancelAppointment(input: {id: $id, reason: "x"}) { error { __typename } } }`,
				"confirmAppointment":    `mutation($id: ID!) { confirmAppointment(input: {id: $id}) { error { __typename } } }`,
				"completeAppointment":   `mutation($id: ID!) { completeAppointment(input: {id: $id}) { error { __typename } } }`,
				"failAppointment":       `mutation($id: ID!) { failAppointment(input: {id: $id, reason: "x"}) { error { __typename } } }`,
				"updateAppointment":     `mutation($id: ID!) { updateAppointment(input: {id: $id, description: "mine now"}) { error { __typename } } }`,
			}
			for field, m := range mutations {
				d, codes := gqlAnswer(t, h.url, token, m, map[string]any{"id": id})
				if typ := dig(d, field, "error", "__typename"); typ != "NotFound" && !(len(codes) == 1 && (codes[0] == apphub.ENOTFOUND || codes[0] == apphub.EFORBIDDEN)) {
					t.Errorf("%s: %v %v, want NotFound", field, d, codes)
				}
			}
			unchanged(t)
		})
		t.Run("TMF646 as "+name, func(t *testing.T) {
			for _, op := range []struct{ method, path, ctype, body string }{
				{"GET", "appointment/" + id, "", ""},
				{"PATCH", "appointment/" + id, "application/merge-patch+json", `{"description":"mine now"}`},
				{"PATCH", "appointment/" + id, "application/merge-patch+json", `{"status":"cancelled"}`},
				{"DELETE", "appointment/" + id, "", ""},
			} {
				if code, body := tmf(t, token, op.method, api+op.path, op.ctype, op.body); code != http.StatusNotFound || body["@type"] != "Error" {
					t.Errorf("%s %s: %d %v, want a 404 Error", op.method, op.path, code, body)
				}
			}
			if code, _ := tmf(t, token, "GET", api+"appointment/"+id, "", "", "If-Match", `"1"`); code != http.StatusNotFound {
				t.Errorf("GET with If-Match: %d", code)
			}
			req, _ := http.NewRequest("GET", api+"appointment", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var list []map[string]any
			json.NewDecoder(resp.Body).Decode(&list)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || len(list) != 0 || resp.Header.Get("X-Total-Count") != "0" {
				t.Errorf("list: %d, %d items, X-Total-Count %q; want none of A's", resp.StatusCode, len(list), resp.Header.Get("X-Total-Count"))
			}
			unchanged(t)
		})
	}

	t.Run("the owner may not do what its role may not", func(t *testing.T) {
		if code, body := tmf(t, custA, "DELETE", api+"appointment/"+id, "", ""); code != http.StatusForbidden {
			t.Errorf("a customer deletes its own: %d %v, want 403", code, body)
		}
		if code, body := tmf(t, custA, "POST", api+"hub", "application/json", `{"callback":"https://example.com/cb"}`); code != http.StatusForbidden {
			t.Errorf("a customer registers a listener: %d %v, want 403", code, body)
		}
		_, codes := gqlAnswer(t, h.url, custA, `mutation($id: ID!) { confirmAppointment(input: {id: $id}) { error { __typename } } }`, map[string]any{"id": id})
		if len(codes) != 1 || codes[0] != apphub.EFORBIDDEN {
			t.Errorf("a customer confirms its own: %v, want FORBIDDEN", codes)
		}
		unchanged(t)
	})

	t.Run("search tasks and registrations are their author's", func(t *testing.T) {
		code, task := tmf(t, partnerQ, "POST", api+"searchTimeSlot", "application/json", `{"relatedPlace":{"role":"x","postCode":"75011"}}`)
		if code != http.StatusCreated {
			t.Fatalf("a task: %d %v", code, task)
		}
		code, reg := tmf(t, partnerQ, "POST", api+"hub", "application/json", `{"callback":"https://example.com/cb"}`)
		if code != http.StatusCreated {
			t.Fatalf("a registration: %d %v", code, reg)
		}
		for _, op := range []struct{ method, path, ctype, body string }{
			{"GET", "searchTimeSlot/" + task["id"].(string), "", ""},
			{"PATCH", "searchTimeSlot/" + task["id"].(string), "application/merge-patch+json", `{"status":"cancelled"}`},
			{"DELETE", "searchTimeSlot/" + task["id"].(string), "", ""},
			{"DELETE", "hub/" + reg["id"].(string), "", ""},
		} {
			if code, body := tmf(t, partnerP, op.method, api+op.path, op.ctype, op.body); code != http.StatusNotFound {
				t.Errorf("%s %s as another partner: %d %v, want 404", op.method, op.path, code, body)
			}
		}
		if code, body := tmf(t, partnerQ, "GET", api+"searchTimeSlot/"+task["id"].(string), "", ""); code != http.StatusOK {
			t.Errorf("its author reads its task: %d %v", code, body)
		}
	})

	t.Run("operators' mutations", func(t *testing.T) {
		upsert := `mutation { upsertCategory(input: {id: "survey", name: "Survey", durationMinutes: 45, stepMinutes: 15, resourceKinds: ["technician"]}) { version } }`
		for token, want := range map[string]string{"": apphub.EUNAUTHENTICATED, custA: apphub.EFORBIDDEN, partnerP: apphub.EFORBIDDEN} {
			if _, codes := gqlAnswer(t, h.url, token, upsert, nil); len(codes) != 1 || codes[0] != want {
				t.Errorf("upsertCategory as %q: %v, want %s", strings.Split(token, ".")[0], codes, want)
			}
		}
		if d, _ := gqlAnswer(t, h.url, admin, `{ categories { id } }`, nil); strings.Contains(fmt.Sprint(d), "survey") {
			t.Error("a refused upsert wrote the category")
		}
	})
}

package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/testclock"
)

// readmeSection returns the text of the README section under the "## " heading that starts
// with title.
func readmeSection(t *testing.T, title string) string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, found := strings.Cut(string(raw), "\n## "+title)
	if !found {
		t.Fatalf("the README has no section %q", title)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	return section
}

var fenced = regexp.MustCompile("(?s)\n### ([^\n]+)\n.*?```graphql\n(.*?)```")

// The README's channel flow, document by document as it is written there, each with the
// variables its text names, taken from the answers before it: a customer's, but for the
// confirmation, which is an agent's or an operator's.
func TestReadmeGraphQLWalkthrough(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil, nil, "--data-dir", t.TempDir()) // its own data, not ./data: the tests run at once
	if err := loadDemo(context.Background(), h.hub.svc, h.hub.logger, nil); err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	var order []string
	for _, m := range fenced.FindAllStringSubmatch(readmeSection(t, "GraphQL API"), -1) {
		docs[m[1]] = m[2]
		order = append(order, m[1])
	}
	want := []string{"availability", "hold", "book", "confirm", "reschedule onto a time that is not offered", "reschedule", "cancel", "a crew job", "book a crew", "recommended slots"}
	if strings.Join(order, "|") != strings.Join(want, "|") {
		t.Fatalf("the README's flow has the steps %q, want %q", order, want)
	}
	customer, operator := h.token(t, "readme", apphub.RoleCustomer), h.token(t, adminParty, apphub.RoleAdmin)
	run := func(step string, vars map[string]any) map[string]any {
		t.Helper()
		token := customer
		if step == "confirm" {
			token = operator
		}
		d := gql(t, h.url, token, docs[step], vars)
		t.Logf("%s %v:\n%v", step, vars, d)
		return d
	}

	d := run("availability", nil)
	start, _ := dig(d, "availability", "days", 0, "slots", 0, "start").(string)
	tech, _ := dig(d, "availability", "days", 0, "slots", 0, "resources", 0, "resource", "id").(string)
	if start == "" || tech == "" || dig(d, "availability", "timeZone") != "Europe/Paris" {
		t.Fatalf("availability: %v", d)
	}
	d = run("hold", map[string]any{"start": start, "tech": tech})
	token, _ := dig(d, "holdSlot", "hold", "token").(string)
	if token == "" {
		t.Fatalf("hold: %v", d)
	}
	key := rand.Text()
	d = run("book", map[string]any{"token": token, "key": key})
	id, _ := dig(d, "bookAppointment", "appointment", "id").(string)
	if id == "" || dig(d, "bookAppointment", "appointment", "status") != "INITIALIZED" {
		t.Fatalf("book: %v", d)
	}
	if again := run("book", map[string]any{"token": token, "key": key}); dig(again, "bookAppointment", "appointment", "id") != id {
		t.Fatalf("the same booking again with its key: %v, want appointment %s", again, id)
	}
	if d = run("confirm", map[string]any{"id": id}); dig(d, "confirmAppointment", "appointment", "status") != "CONFIRMED" {
		t.Fatalf("confirm: %v", d)
	}
	s, _ := time.Parse(time.RFC3339, start)
	d = run("reschedule onto a time that is not offered", map[string]any{"id": id, "start": s.Add(15 * time.Minute).Format(time.RFC3339)})
	if dig(d, "rescheduleAppointment", "error", "__typename") != "SlotUnavailable" || dig(d, "rescheduleAppointment", "error", "code") != "NOT_A_SLOT_START" ||
		dig(d, "rescheduleAppointment", "error", "alternatives", 0, "start") == nil {
		t.Fatalf("reschedule onto a quarter past: %v", d)
	}
	later := gql(t, h.url, customer, `query($r: ID!, $from: Time!) { availability(input: {category: "repair", resource: $r, from: $from}) { days { slots { start } } } }`,
		map[string]any{"r": tech, "from": s.Add(24 * time.Hour).Format(time.RFC3339)})
	other, _ := dig(later, "availability", "days", 0, "slots", 0, "start").(string)
	d = run("reschedule", map[string]any{"id": id, "start": other})
	if other == "" || dig(d, "rescheduleAppointment", "appointment", "start") != other || dig(d, "rescheduleAppointment", "appointment", "version") != float64(3) {
		t.Fatalf("reschedule to %q: %v", other, d)
	}
	if d = run("cancel", map[string]any{"id": id}); dig(d, "cancelAppointment", "appointment", "status") != "CANCELLED" ||
		len(dig(d, "cancelAppointment", "appointment", "history").([]any)) != 4 {
		t.Fatalf("cancel: %v", d)
	}

	d = run("a crew job", nil)
	crewStart, _ := dig(d, "availability", "days", 0, "slots", 0, "start").(string)
	crew, _ := dig(d, "availability", "days", 0, "slots", 0, "crew").([]any)
	if crewStart == "" || len(crew) != 3 || dig(d, "availability", "days", 0, "slots", 0, "crew", 2, "kind") != apphub.KindEquipment {
		t.Fatalf("a crew job: %v", d)
	}
	d = run("book a crew", map[string]any{"start": crewStart})
	if booked := dig(d, "bookAppointment", "appointment", "crew"); fmt.Sprint(booked) != fmt.Sprint(crew) {
		t.Fatalf("book a crew: %v, want the crew %v", d, crew)
	}
	if d = run("book a crew", map[string]any{"start": crewStart}); dig(d, "bookAppointment", "error", "code") != apphub.ReasonFullyBooked {
		t.Fatalf("book a crew again: %v, want FULLY_BOOKED", d)
	}

	d = run("recommended slots", nil)
	recommended, _ := dig(d, "availability", "recommended").([]any)
	if len(recommended) != 3 || dig(d, "availability", "recommended", 0, "reasons", 0, "code") != apphub.RecommendPreferredTime ||
		dig(d, "availability", "recommended", 0, "resource", "id") == nil {
		t.Fatalf("recommended slots: %v, want 3, the first at a preferred time with its technician", d)
	}
	for i := 1; i < len(recommended); i++ {
		if dig(d, "availability", "recommended", i, "score").(float64) > dig(d, "availability", "recommended", i-1, "score").(float64) {
			t.Fatalf("recommended slots: %v, not best first", d)
		}
	}
}

// The README's TMF646 walkthrough, run by bash as it is written there. Its token comes from
// `go run ./cmd/apphub token …` as written, run as this test's binary (the program as the
// tests run it, without compiling it again) on the hub's data directory.
func TestReadmeTMFWalkthrough(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil, nil, "--data-dir", t.TempDir()) // its own data, not ./data: the tests run at once
	_, block, found := strings.Cut(readmeSection(t, "TMF646 Appointment Management"), "```sh\nHUB=")
	if !found {
		t.Fatal("the README's TMF646 section has no walkthrough starting with HUB=")
	}
	block, _, _ = strings.Cut(block, "```")
	const tokenCommand = "go run ./cmd/apphub token "
	if !strings.Contains(block, tokenCommand) {
		t.Fatalf("the README's TMF646 walkthrough gets no token with %q:\n%s", tokenCommand, block)
	}
	block = strings.ReplaceAll(block, "go run ./cmd/apphub ", "'"+os.Args[0]+"' ")
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", "HUB="+block)
	cmd.Env = append(os.Environ(), "HUB="+h.url, "APPHUB_TEST_MAIN=1", "APPHUB_DATA_DIR="+h.dir,
		testclock.Env+"="+testclock.Now().Format(time.RFC3339Nano))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walkthrough failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	for _, want := range []string{`"description":"Fibre installation"`, `"status":"confirmed"`, `"code":"INVALID_TRANSITION"`} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("the walkthrough's output lacks %s:\n%s", want, out)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// gqlClient calls a GraphQL endpoint over HTTP with a bearer token, for the bookings that
// make the changes subscribers are measured on.
type gqlClient struct {
	http  *http.Client
	url   string
	token string
}

// do posts document and decodes the answer's data into data. A GraphQL error is an error.
func (c *gqlClient) do(ctx context.Context, document string, data any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body(document)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s", errorKind(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s", errorKind(err))
	}
	var answer struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return fmt.Errorf("HTTP %d: %.100s", resp.StatusCode, b)
	}
	if len(answer.Errors) > 0 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, answer.Errors[0].Message)
	}
	return json.Unmarshal(answer.Data, data)
}

// freeStarts returns the starts of the free slots of category at place in [from, to).
func (c *gqlClient) freeStarts(ctx context.Context, category, place string, from, to time.Time) ([]time.Time, error) {
	var data struct {
		Availability struct {
			Days []struct {
				Slots []struct {
					Start    time.Time
					Capacity int
				}
			}
		}
	}
	doc := fmt.Sprintf(`{ availability(input: {category: %q, place: %q, from: %q, to: %q}) { days { slots { start capacity } } } }`,
		category, place, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	if err := c.do(ctx, doc, &data); err != nil {
		return nil, err
	}
	var out []time.Time
	for _, d := range data.Availability.Days {
		for _, s := range d.Slots {
			if s.Capacity > 0 {
				out = append(out, s.Start)
			}
		}
	}
	return out, nil
}

// appointmentAnswer is an appointment's id and version after a change, or the refusal.
type appointmentAnswer struct {
	Appointment *struct {
		ID      string
		Version int
	}
	Error *struct {
		Typename string `json:"__typename"`
		Code     string
	}
}

func (a appointmentAnswer) err() error {
	switch {
	case a.Error != nil:
		return fmt.Errorf("%s %s", a.Error.Typename, a.Error.Code)
	case a.Appointment == nil:
		return fmt.Errorf("no appointment")
	}
	return nil
}

// book books category at place at start, for customer when not "", and returns the new
// appointment's id and version.
func (c *gqlClient) book(ctx context.Context, category, place string, start time.Time, customer string) (string, int, error) {
	in := fmt.Sprintf("category: %q, place: %q, start: %q", category, place, start.UTC().Format(time.RFC3339))
	if customer != "" {
		in += fmt.Sprintf(", customer: %q", customer)
	}
	var data struct{ BookAppointment appointmentAnswer }
	if err := c.do(ctx, "mutation { bookAppointment(input: {"+in+"}) { appointment { id version } error { __typename code } } }", &data); err != nil {
		return "", 0, err
	}
	if err := data.BookAppointment.err(); err != nil {
		return "", 0, err
	}
	return data.BookAppointment.Appointment.ID, data.BookAppointment.Appointment.Version, nil
}

// confirm confirms an appointment and returns its new version.
func (c *gqlClient) confirm(ctx context.Context, id string) (int, error) {
	var data struct{ ConfirmAppointment appointmentAnswer }
	if err := c.do(ctx, fmt.Sprintf("mutation { confirmAppointment(input: {id: %q}) { appointment { id version } error { __typename code } } }", id), &data); err != nil {
		return 0, err
	}
	if err := data.ConfirmAppointment.err(); err != nil {
		return 0, err
	}
	return data.ConfirmAppointment.Appointment.Version, nil
}

// target is a category at a place, where bookings are made.
type target struct{ category, place string }

// parseTargets reads "category@place,category@place…".
func parseTargets(s string) ([]target, error) {
	var out []target
	for _, t := range strings.Split(s, ",") {
		cat, place, ok := strings.Cut(strings.TrimSpace(t), "@")
		if !ok || cat == "" || place == "" {
			return nil, fmt.Errorf("booking target %q is not category@place", t)
		}
		out = append(out, target{cat, place})
	}
	return out, nil
}

// bookOne books a free slot of t in [from, to) drawn with rng, searching the free slots first
// so that it books what a channel app would have offered; it returns when the booking's
// answer arrived (the search's time excluded) and how long the booking took.
func (c *gqlClient) bookOne(ctx context.Context, rng *rand.Rand, t target, from, to time.Time, customer string) (b booked, err error) {
	starts, err := c.freeStarts(ctx, t.category, t.place, from, to)
	if err != nil {
		return b, fmt.Errorf("search: %w", err)
	}
	if len(starts) == 0 {
		return b, fmt.Errorf("no free slot of %s at %s", t.category, t.place)
	}
	b.start = starts[rng.IntN(len(starts))]
	b.sent = time.Now()
	b.id, b.version, err = c.book(ctx, t.category, t.place, b.start, customer)
	b.answered = time.Now()
	return b, err
}

// booked is a booking made.
type booked struct {
	start          time.Time // the slot's
	id             string
	version        int
	sent, answered time.Time
}

package resolvers

import (
	"encoding/json"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// testMessage has the shape of gqlgen's websocket protocol messages.
type testMessage struct {
	Payload json.RawMessage `json:"payload,omitempty"`
	ID      string          `json:"id,omitempty"`
	Type    testMessageType `json:"type"`
	noOp    bool
}

type testMessageType string

func (t testMessageType) MarshalText() ([]byte, error) { return []byte(t), nil }

// A result message is written as encoding/json writes it; other messages and other shapes are
// left to encoding/json.
func TestNextMessage(t *testing.T) {
	payload, err := json.Marshal(&graphql.Response{Data: json.RawMessage(`{"a":"<b> & \u2028 \"c\""}`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		msg  any
		fast bool
	}{
		{&testMessage{Payload: payload, ID: "1", Type: "next"}, true},
		{&testMessage{Payload: payload, ID: `sub "<&>" é`, Type: "data"}, true},
		{&testMessage{Payload: payload, Type: "next", noOp: true}, true}, // unexported fields are not written
		{&testMessage{Type: "next"}, false},
		{&testMessage{Payload: payload, ID: "1", Type: "complete"}, false},
		{&testMessage{Payload: json.RawMessage(`{"x":1}`), ID: "1", Type: "error"}, false},
		{testMessage{Payload: payload, ID: "1", Type: "next"}, false},
		{&struct {
			Payload json.RawMessage `json:"payload,omitempty"`
			ID      string          `json:"id,omitempty"`
			Type    string          `json:"type"`
			Extra   int
		}{payload, "1", "next", 2}, false},
		{&struct {
			ID      string          `json:"id,omitempty"`
			Payload json.RawMessage `json:"payload,omitempty"`
			Type    string          `json:"type"`
		}{"1", payload, "next"}, false},
	} {
		got, fast := nextMessage(tc.msg)
		if fast != tc.fast {
			t.Fatalf("%+v: fast %v, want %v", tc.msg, fast, tc.fast)
		}
		want, err := json.Marshal(tc.msg)
		if err != nil {
			t.Fatal(err)
		}
		if fast && string(got) != string(want) {
			t.Fatalf("%+v:\n got %s\nwant %s", tc.msg, got, want)
		}
	}
}

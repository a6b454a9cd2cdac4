package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
)

// websocketImplementation accepts websockets with coder/websocket for gqlgen's transport, as
// gqlgen's own adapter (transport.CoderWebsocketImplementation) does, with two differences: a
// connection whose credential expired closes with 4401, and a subscription's next message is
// written without a second pass of encoding/json over its payload. gqlgen marshals a response
// into the message's payload (checking and compacting it), then the message around it, which
// checks and compacts the payload again: for a grid sent to thousands of subscribers that
// second pass was a third of the fan-out's CPU.
type websocketImplementation struct {
	accept coderws.AcceptOptions
}

func (w websocketImplementation) Accept(rw http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	for key, values := range opts.ResponseHeader {
		for _, v := range values {
			rw.Header().Add(key, v)
		}
	}
	accept := w.accept
	for _, p := range opts.Subprotocols {
		if !slices.Contains(accept.Subprotocols, p) {
			accept.Subprotocols = append(slices.Clip(accept.Subprotocols), p)
		}
	}
	conn, err := coderws.Accept(rw, r, &accept)
	if err != nil {
		return nil, err
	}
	s, _ := r.Context().Value(wsSessionKey{}).(*wsSession)
	return &websocketConn{conn: conn, session: s}, nil
}

// websocketConn is one accepted websocket, for gqlgen's transport.
type websocketConn struct {
	conn    *coderws.Conn
	session *wsSession // nil when accepted outside NewHandler's handler

	mu       sync.Mutex
	deadline *time.Timer   // closes the connection when a read is overdue
	closing  chan struct{} // the close handshake under way, once WriteClose began it
}

var (
	_ transport.WebsocketConn          = (*websocketConn)(nil)
	_ transport.WebsocketReadLimiter   = (*websocketConn)(nil)
	_ transport.WebsocketReadDeadliner = (*websocketConn)(nil)
)

func (c *websocketConn) NextReader() (int, io.Reader, error) {
	typ, data, err := c.conn.Read(context.Background())
	switch {
	case err != nil && (coderws.CloseStatus(err) == coderws.StatusNormalClosure || coderws.CloseStatus(err) == coderws.StatusNoStatusRcvd):
		return int(typ), nil, transport.ErrWebsocketClosed
	case err != nil:
		return int(typ), nil, err
	}
	return int(typ), bytes.NewReader(data), nil
}

func (c *websocketConn) WriteJSON(v any) error {
	data, ok := nextMessage(v)
	if !ok {
		var err error
		if data, err = json.Marshal(v); err != nil {
			return err
		}
	}
	return c.conn.Write(context.Background(), coderws.MessageText, data)
}

// WriteClose starts the close handshake in the background (it may wait 5 s for a peer that
// never answers), with 4401 when the connection's credential expired.
func (c *websocketConn) WriteClose(code int, message string) error {
	if c.session != nil && c.session.expired() {
		code, message = CloseUnauthorized, "Unauthorized"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopDeadlineLocked()
	if c.closing != nil {
		return nil
	}
	c.closing = make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		c.conn.Close(coderws.StatusCode(code), message)
	}(c.closing)
	return nil
}

// Close closes the connection now, unless WriteClose's handshake owns its closing.
func (c *websocketConn) Close() error {
	c.mu.Lock()
	c.stopDeadlineLocked()
	closing := c.closing != nil
	c.mu.Unlock()
	if closing {
		return nil
	}
	return c.conn.CloseNow()
}

func (c *websocketConn) Subprotocol() string { return c.conn.Subprotocol() }

func (c *websocketConn) SetReadLimit(limit int64) { c.conn.SetReadLimit(limit) }

// SetReadDeadline closes the connection at t unless it is called again before (gqlgen moves
// the deadline at each pong); the zero time clears it.
func (c *websocketConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.stopDeadlineLocked()
	if !t.IsZero() && time.Until(t) > 0 {
		c.deadline = time.AfterFunc(time.Until(t), func() { c.conn.CloseNow() })
		t = time.Time{}
	}
	c.mu.Unlock()
	if !t.IsZero() {
		return c.conn.CloseNow()
	}
	return nil
}

func (c *websocketConn) stopDeadlineLocked() {
	if c.deadline != nil {
		c.deadline.Stop()
		c.deadline = nil
	}
}

// protocolMessage is the shape of the messages of both of gqlgen's websocket protocols, in
// field order with their tags.
var protocolMessage = []struct{ name, tag string }{
	{"Payload", "payload,omitempty"},
	{"ID", "id,omitempty"},
	{"Type", "type"},
}

// nextMessage writes v, one of gqlgen's protocol messages carrying a result ("next" of
// graphql-transport-ws, "data" of graphql-ws), as encoding/json would: its payload is
// encoding/json's own output (gqlgen marshals the response into it), written as it is. It
// reports false for anything else, which encoding/json then writes.
func nextMessage(v any) ([]byte, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	rv = rv.Elem()
	rt := rv.Type()
	if rt.NumField() < len(protocolMessage) {
		return nil, false
	}
	for i, f := range protocolMessage {
		if sf := rt.Field(i); sf.Name != f.name || sf.Tag.Get("json") != f.tag {
			return nil, false
		}
	}
	for i := len(protocolMessage); i < rt.NumField(); i++ {
		if rt.Field(i).IsExported() {
			return nil, false // a field encoding/json would write
		}
	}
	payload, okPayload := rv.Field(0).Interface().(json.RawMessage)
	id, typ := rv.Field(1), rv.Field(2)
	if !okPayload || len(payload) == 0 || id.Kind() != reflect.String || typ.Kind() != reflect.String ||
		(typ.String() != "next" && typ.String() != "data") {
		return nil, false
	}
	idJSON, err := json.Marshal(id.String())
	if err != nil {
		return nil, false
	}
	typJSON, err := json.Marshal(typ.Interface())
	if err != nil {
		return nil, false
	}
	out := make([]byte, 0, len(payload)+len(idJSON)+len(typJSON)+24)
	out = append(append(out, `{"payload":`...), payload...)
	if id.String() != "" {
		out = append(append(out, `,"id":`...), idJSON...)
	}
	out = append(append(out, `,"type":`...), typJSON...)
	return append(out, '}'), true
}

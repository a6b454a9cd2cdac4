package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/apphub/apphub"
)

// wsTransport serves GraphQL over websockets, in both protocols clients speak, negotiated by
// subprotocol: graphql-transport-ws (the graphql-ws library's) and the legacy graphql-ws
// (subscriptions-transport-ws), which a client that names none gets, as with gqlgen's own
// transport.
//
// It replaces gqlgen's transport for what that one costs when thousands of clients watch: two
// goroutines per connection beside its reader and one per subscription, each blocked for as
// long as the subscription lives (grown stacks: 50 KB a subscriber), and every response
// marshalled again for each subscriber, twice (into the message's payload, then the message).
// Here a connection has one goroutine, its reader (the request's own). A subscription whose
// resolver signals its values (streamSignalOf) has none while idle: a short-lived one takes
// the values signalled, writes them and ends. A response's data is written as the executor
// (or gridResponses, once for all subscribers of a grid) produced it, inside a message built
// around it.
type wsTransport struct {
	origins      []string // host patterns of the other origins allowed (path.Match)
	init         wsInitFunc
	keepAlive    time.Duration // graphql-ws "ka", graphql-transport-ws "ping"
	initTimeout  time.Duration // until connection_init
	readLimit    int64         // the largest message read
	writeTimeout time.Duration // a client that takes longer to accept a message is closed
	conns        *connCounter  // the instance's websockets, by principal
	maxConns     int           // per principal
	shutdown     context.Context
}

// wsInitFunc accepts a connection_init's payload: it returns the context the connection's
// operations run in, or a *wsRefusal.
type wsInitFunc func(ctx context.Context, payload transport.InitPayload) (context.Context, error)

// wsRefusal closes a connection whose connection_init is refused, with code and reason; the
// graphql-ws protocol sends err's message in a connection_error first.
type wsRefusal struct {
	code   int
	reason string
	err    error
}

func (r *wsRefusal) Error() string { return r.err.Error() }
func (r *wsRefusal) Unwrap() error { return r.err }

const (
	subprotocolTransportWS = "graphql-transport-ws"
	subprotocolGraphQLWS   = "graphql-ws"

	// graphql-transport-ws's close codes.
	closeBadMessage   = 4400
	closeInitTimeout  = 4408
	closeDuplicateID  = 4409
	closeTooManyInits = 4429
	// The close handshake: how long the close frame may take to go out, and the client to
	// answer it before the connection is cut.
	closeWriteTimeout = time.Second
	closeWait         = 5 * time.Second
)

var _ graphql.Transport = wsTransport{}

func (wsTransport) Supports(r *http.Request) bool { return r.Header.Get("Upgrade") != "" }

// Do accepts the websocket and returns: the connection lives on in its reader's goroutine,
// started with a small stack that stays small (the request's goroutine is deep, its stack
// grown by everything that ran before). The connection keeps the request's values, not its
// cancellation: it ends when the client leaves, its credential expires or the hub shuts down
// (t.shutdown).
func (t wsTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	upgrader := websocket.Upgrader{
		Subprotocols: []string{subprotocolTransportWS, subprotocolGraphQLWS},
		CheckOrigin:  func(r *http.Request) bool { return originAllowed(r, t.origins) },
		// An idle connection holds a small read buffer and no write buffer: messages are
		// written from pooled buffers (gorilla's defaults keep 4 KiB of each per connection).
		ReadBufferSize:  wsReadBuffer,
		WriteBufferPool: &wsWriteBuffers,
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered the request
	}
	if t.readLimit > 0 {
		ws.SetReadLimit(t.readLimit)
	}
	s := &wsSession{remoteHost: remoteHost(r), conns: t.conns, maxConns: t.maxConns}
	c := &wsConn{t: &t, ws: ws, exec: exec, session: s,
		ctx:    context.WithValue(context.WithoutCancel(r.Context()), wsSessionKey{}, s),
		legacy: ws.Subprotocol() != subprotocolTransportWS, ops: map[string]*wsOp{}}
	go c.serve()
}

// wsReadBuffer is the read buffer of a connection: client messages are small (a subscribe
// is a document), and a larger one is read through it in parts.
const wsReadBuffer = 512

// wsWriteBuffers are the buffers messages are written from, shared by all connections.
var wsWriteBuffers sync.Pool

// originAllowed reports whether the upgrade's Origin may open a websocket: none (not a
// browser), the hub's own host, or a host matching one of patterns (path.Match, case-folded;
// a pattern with "://" matches scheme and host).
func originAllowed(r *http.Request, patterns []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(r.Host, u.Host) {
		return true
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return true
		}
	}
	return false
}

// wsConn is one connection.
type wsConn struct {
	t       *wsTransport
	ws      *websocket.Conn
	wmu     sync.Mutex // one writer at a time
	exec    graphql.GraphExecutor
	session *wsSession
	legacy  bool // graphql-ws rather than graphql-transport-ws

	// The context operations run in (the request's values until connection_init is
	// accepted), and whether it was: set while the reader waits for connectionInit.
	ctx   context.Context
	acked bool

	mu     sync.Mutex
	ops    map[string]*wsOp // running operations by id
	timer  *time.Timer      // the init timeout, then the keep-alive
	closed bool
}

// serve reads the client's messages until the connection closes. Reading has no deadline:
// the close handshake (close) ends it. What may run deep (verifying a credential, parsing a
// document, running an operation) runs on other goroutines, so that this one's stack, which
// lives as long as the connection, stays small.
func (c *wsConn) serve() {
	defer c.session.stop()
	defer c.ws.Close()
	defer c.close(websocket.CloseNormalClosure, "")
	c.mu.Lock()
	c.timer = time.AfterFunc(c.t.initTimeout, func() { c.close(closeInitTimeout, "Connection initialisation timeout") })
	c.mu.Unlock()
	if c.t.shutdown != nil {
		defer context.AfterFunc(c.t.shutdown, func() { c.close(websocket.CloseGoingAway, "going away") })()
	}
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if c.isClosed() {
			continue // the close handshake is under way: its answer ends the loop
		}
		var m struct {
			Type    string          `json:"type"`
			ID      string          `json:"id"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(data, &m); err != nil || m.Type == "" {
			c.refuse(closeBadMessage, "Invalid message received", "invalid message")
			continue
		}
		c.handle(m.Type, m.ID, m.Payload)
	}
}

// handle acts on one message.
func (c *wsConn) handle(typ, id string, payload json.RawMessage) {
	switch {
	case typ == "connection_init" && !c.acked:
		done := make(chan struct{})
		go func() { c.connectionInit(payload); close(done) }()
		<-done
	case typ == "connection_init":
		if c.legacy {
			c.refuse(closeBadMessage, "Invalid message received", "connection_init sent twice")
		} else {
			c.close(closeTooManyInits, "Too many initialisation requests")
		}
	case !c.acked:
		// Nothing runs before the connection is accepted.
		c.refuse(CloseUnauthorized, "Unauthorized", "connection_init must come first")
	case typ == "subscribe" && !c.legacy, typ == "start" && c.legacy:
		if id == "" {
			c.refuse(closeBadMessage, "Invalid message received", "a subscription needs an id")
			return
		}
		c.start(id, payload)
	case typ == "complete" && !c.legacy, typ == "stop" && c.legacy:
		c.mu.Lock()
		op := c.ops[id]
		delete(c.ops, id) // the id may be used again at once
		c.mu.Unlock()
		if op != nil {
			op.stop()
		}
	case typ == "ping" && !c.legacy:
		c.write(appendMessage(nil, "pong", "", payload))
	case typ == "pong" && !c.legacy:
	case typ == "connection_terminate" && c.legacy:
		c.close(websocket.CloseNormalClosure, "terminated")
	default:
		c.refuse(closeBadMessage, "Invalid message received", "unexpected message "+typ)
	}
}

// connectionInit accepts the connection or closes it, as c.t.init decides.
func (c *wsConn) connectionInit(payload json.RawMessage) {
	initPayload := transport.InitPayload{}
	if len(payload) > 0 && !bytes.Equal(payload, []byte("null")) {
		if err := json.Unmarshal(payload, &initPayload); err != nil {
			c.refuse(closeBadMessage, "Invalid message received", "connection_init's payload must be an object")
			return
		}
	}
	ctx := c.ctx
	if c.t.init != nil {
		var err error
		if ctx, err = c.t.init(c.ctx, initPayload); err != nil {
			refusal, ok := errors.AsType[*wsRefusal](err)
			if !ok {
				refusal = &wsRefusal{code: websocket.CloseInternalServerErr, reason: "Internal Error", err: err}
			}
			c.refuse(refusal.code, refusal.reason, err.Error())
			return
		}
	}
	c.ctx, c.acked = ctx, true
	// The credential's expiry ends ctx: the connection closes with 4401.
	context.AfterFunc(ctx, func() { c.close(CloseUnauthorized, "Unauthorized") })
	c.write(appendMessage(nil, "connection_ack", ""))
	c.mu.Lock()
	c.timer.Stop()
	if c.t.keepAlive > 0 && !c.closed {
		c.timer = time.AfterFunc(c.t.keepAlive, c.keepAlive)
	}
	c.mu.Unlock()
	if c.legacy {
		c.write(appendMessage(nil, "ka", ""))
	}
}

// keepAlive sends graphql-ws's "ka" or graphql-transport-ws's ping, so that proxies keep the
// connection and the client knows it lives, and comes again after the interval.
func (c *wsConn) keepAlive() {
	if c.legacy {
		c.write(appendMessage(nil, "ka", ""))
	} else {
		c.write(appendMessage(nil, "ping", ""))
	}
	c.mu.Lock()
	if !c.closed {
		c.timer.Reset(c.t.keepAlive)
	}
	c.mu.Unlock()
}

// refuse closes the connection with code and reason, after a connection_error carrying
// message on graphql-ws (graphql-transport-ws has only the close).
func (c *wsConn) refuse(code int, reason, message string) {
	if c.legacy {
		payload, _ := json.Marshal(&gqlerror.Error{Message: message})
		c.write(appendMessage(nil, "connection_error", "", payload))
	}
	c.close(code, reason)
}

// close ends the connection's operations and starts the close handshake, once: the close
// frame goes out, and the connection is cut when the client answers it (the reader sees the
// answer and returns) or after closeWait.
func (c *wsConn) close(code int, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	ops := c.ops
	c.ops = nil
	c.mu.Unlock()
	for _, op := range ops {
		op.stop()
	}
	go func() {
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(closeWriteTimeout))
		time.AfterFunc(closeWait, func() { c.ws.Close() })
	}()
}

func (c *wsConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// write sends a message; a client that does not take it within the write timeout is closed.
func (c *wsConn) write(msg []byte) {
	c.wmu.Lock()
	c.ws.SetWriteDeadline(time.Now().Add(c.t.writeTimeout))
	err := c.ws.WriteMessage(websocket.TextMessage, msg)
	c.wmu.Unlock()
	if err != nil {
		c.close(websocket.ClosePolicyViolation, "too slow")
		c.ws.Close() // a write that failed leaves nothing to say
	}
}

// appendMessage appends a protocol message to dst: {"type":typ,"id":id,"payload":payload},
// the payload written as its parts in a row; without the id or the payload when they are
// empty.
func appendMessage(dst []byte, typ, id string, payload ...[]byte) []byte {
	size := 0
	for _, p := range payload {
		size += len(p)
	}
	if dst == nil {
		dst = make([]byte, 0, size+len(id)+len(typ)+32)
	}
	dst = appendQuoted(append(dst, `{"type":`...), typ)
	if id != "" {
		dst = appendQuoted(append(dst, `,"id":`...), id)
	}
	if size > 0 {
		dst = append(dst, `,"payload":`...)
		for _, p := range payload {
			dst = append(dst, p...)
		}
	}
	return append(dst, '}')
}

// start runs the operation of a subscribe (start) message, on a goroutine of its own.
func (c *wsConn) start(id string, payload json.RawMessage) {
	started := graphql.Now()
	ctx, cancel := context.WithCancel(c.ctx)
	op := &wsOp{c: c, id: id, cancel: cancel}
	c.mu.Lock()
	_, taken := c.ops[id]
	if !taken && !c.closed {
		c.ops[id] = op
	}
	closed := c.closed
	c.mu.Unlock()
	switch {
	case closed:
		cancel()
	case taken:
		cancel()
		c.close(closeDuplicateID, "Subscriber for "+id+" already exists")
	default:
		go op.run(ctx, payload, started)
	}
}

// sendResponse sends a result: its data as it is when it has nothing else (the executor's
// output, valid JSON: encoding/json would only check and compact it again).
func (c *wsConn) sendResponse(id string, resp *graphql.Response) {
	typ := "next"
	if c.legacy {
		typ = "data"
	}
	if len(resp.Errors) == 0 && resp.Label == "" && resp.Path == nil && resp.HasNext == nil && resp.Extensions == nil && len(resp.Data) > 0 {
		buf := messageBuffers.Get().(*[]byte)
		*buf = appendMessage((*buf)[:0], typ, id, []byte(`{"data":`), resp.Data, []byte("}"))
		c.write(*buf)
		messageBuffers.Put(buf)
		return
	}
	payload, err := json.Marshal(resp)
	if err != nil {
		payload, _ = json.Marshal(&graphql.Response{Errors: gqlerror.List{{Message: "internal error", Extensions: map[string]any{"code": apphub.EINTERNAL}}}})
	}
	c.write(appendMessage(nil, typ, id, payload))
}

// messageBuffers hold the messages built around shared responses: a grid is tens of kilobytes
// written to thousands of subscribers at once.
var messageBuffers = sync.Pool{New: func() any { return new([]byte) }}

// sendErrors sends an operation's errors (graphql-transport-ws's error message, which ends it).
func (c *wsConn) sendErrors(id string, errs gqlerror.List) {
	payload, err := json.Marshal(errs)
	if err != nil {
		payload = []byte(`[{"message":"internal error"}]`)
	}
	c.write(appendMessage(nil, "error", id, payload))
}

// wsOp is one running operation.
type wsOp struct {
	c      *wsConn
	id     string
	rc     *graphql.OperationContext
	cancel context.CancelFunc

	mu      sync.Mutex
	next    graphql.ResponseHandler // nil until the operation was dispatched
	ctx     context.Context         // the one the executor returned, for next
	signals int                     // values signalled that the pump has not taken yet
	claimed bool                    // the resolver signals its values
	pumping bool                    // a goroutine runs pump
	done    bool                    // the stream ended
	stopped bool                    // the client completed it, or the connection closed: nothing more is sent
}

// streamSignalKey is the context key of the wsOp an operation runs as.
type streamSignalKey struct{}

// streamSignalOf returns the function a subscription resolver calls each time it put a value
// in the channel it returned, or closed it, and the function it calls once it succeeded, from
// which its values are taken only when signalled (no goroutine waits on its channel). Under
// another transport both do nothing.
func streamSignalOf(ctx context.Context) (signal, claim func()) {
	op, ok := ctx.Value(streamSignalKey{}).(*wsOp)
	if !ok {
		return func() {}, func() {}
	}
	return op.signal, op.claim
}

func (o *wsOp) claim() {
	o.mu.Lock()
	o.claimed = true
	o.mu.Unlock()
}

// signal notes one more value to take, and starts a pump for it unless one runs.
func (o *wsOp) signal() {
	o.mu.Lock()
	o.signals++
	start := o.next != nil && !o.pumping && !o.done
	o.pumping = o.pumping || start
	o.mu.Unlock()
	if start {
		go o.pump()
	}
}

// stop ends the operation: nothing more is sent, and the pump is woken to see its end.
func (o *wsOp) stop() {
	o.mu.Lock()
	o.stopped = true
	o.mu.Unlock()
	o.cancel()
	o.signal()
}

// run reads the operation, dispatches it (its resolvers run now) and becomes its first
// pump; an operation refused before it runs gets its errors.
func (o *wsOp) run(ctx context.Context, payload json.RawMessage, started time.Time) {
	defer o.recovered()
	c := o.c
	ctx = graphql.StartOperationTrace(ctx)
	params := &graphql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		o.end()
		c.sendErrors(o.id, gqlerror.List{{Message: "invalid json"}})
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: started, End: graphql.Now()}
	rc, errs := c.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		o.end()
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			c.sendErrors(o.id, resp.Errors)
			return
		}
		c.sendResponse(o.id, &graphql.Response{Errors: errs})
		c.write(appendMessage(nil, "complete", o.id))
		return
	}
	o.mu.Lock()
	o.rc = rc
	o.mu.Unlock()
	ctx = context.WithValue(graphql.WithOperationContext(ctx, rc), streamSignalKey{}, o)
	next, ctx := c.exec.DispatchOperation(ctx, rc)
	o.mu.Lock()
	o.next, o.ctx, o.pumping = next, ctx, true
	o.mu.Unlock()
	o.pump()
}

// pump sends the responses there are: every one the executor gives for an operation whose
// resolver does not signal (a query, a mutation, an error, a stream of another resolver),
// those signalled for one that does. It ends when there is nothing left to take, or the
// stream ended.
func (o *wsOp) pump() {
	defer o.recovered()
	for {
		o.mu.Lock()
		if o.claimed && o.signals == 0 {
			o.pumping = false
			o.mu.Unlock()
			return
		}
		if o.claimed {
			o.signals--
		}
		o.mu.Unlock()
		resp := o.next(o.ctx)
		if resp == nil {
			o.finish()
			return
		}
		o.mu.Lock()
		stopped := o.stopped
		o.mu.Unlock()
		if !stopped {
			o.c.sendResponse(o.id, resp)
		}
	}
}

// finish ends an operation whose stream ended: complete, unless the client ended it.
func (o *wsOp) finish() {
	o.mu.Lock()
	stopped := o.stopped
	o.mu.Unlock()
	o.end()
	// An operation ended by its connection's end (the credential expired, the hub shuts
	// down) gets the close, not a complete that would say its stream ended normally.
	if c := o.c; !stopped && c.ctx.Err() == nil && !c.isClosed() {
		c.write(appendMessage(nil, "complete", o.id))
	}
}

// end marks the operation ended and gives back its id.
func (o *wsOp) end() {
	o.mu.Lock()
	o.done, o.pumping = true, false
	o.mu.Unlock()
	o.cancel()
	c := o.c
	c.mu.Lock()
	if c.ops[o.id] == o {
		delete(c.ops, o.id)
	}
	c.mu.Unlock()
}

// recovered turns a panic of the operation into its error, as gqlgen's transport does.
func (o *wsOp) recovered() {
	v := recover()
	if v == nil {
		return
	}
	o.mu.Lock()
	rc, ctx := o.rc, o.ctx
	o.stopped = true // the error ends it
	o.mu.Unlock()
	gqlErr := &gqlerror.Error{Message: "internal error"}
	if rc != nil {
		if ctx == nil {
			ctx = context.Background()
		}
		if e, ok := errors.AsType[*gqlerror.Error](rc.Recover(ctx, v)); ok {
			gqlErr = e
		}
	}
	o.c.sendErrors(o.id, gqlerror.List{gqlErr})
	o.end()
}

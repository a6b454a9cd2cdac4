package notify

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"syscall"
	"time"

	"github.com/apphub/apphub"
)

// A subscriber chooses the callback, so the hub must not become a way to reach what only it
// can reach. Registration refuses the callbacks that are internal on their face (booking);
// the check that matters happens here, when connecting, on the address the name resolved to
// (a name may resolve elsewhere tomorrow, and a redirect or a second DNS answer must not get
// around it): net.Dialer.Control runs after resolution and before connect(2), once per
// address tried. The rule is apphub.AddressRefusal: global unicast addresses only, and the
// networks the operator allowed.

// ErrRefusedDestination is wrapped by the error of an attempt whose destination is refused.
var ErrRefusedDestination = errors.New("destination refused")

// ReasonDestinationRefused is the apphub.Error reason of a refused destination.
const ReasonDestinationRefused = "DESTINATION_REFUSED"

// guard dials only the destinations allowed.
type guard struct {
	base    net.Dialer
	allowed []netip.Prefix // private networks opened by the operator
}

func newGuard(base *net.Dialer, allowed []netip.Prefix) *guard {
	g := &guard{allowed: slices.Clone(allowed)}
	if base != nil {
		g.base = *base
	} else {
		g.base = net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	}
	return g
}

// check returns nil when the resolved address may be connected to.
func (g *guard) check(host, address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refused(host, address, "not an IP address")
	}
	if reason := apphub.AddressRefusal(ap.Addr(), g.allowed); reason != "" {
		return refused(host, address, reason)
	}
	return nil
}

func refused(host, address, reason string) error {
	return &apphub.Error{Code: apphub.EFORBIDDEN, Reason: ReasonDestinationRefused, Err: ErrRefusedDestination,
		Message: "the listener " + host + " (" + address + ") is refused: " + reason}
}

// DialContext dials addr ("host:port") if the address it resolves to is allowed.
func (g *guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	d := g.base
	control, controlCtx := d.Control, d.ControlContext
	d.Control = nil
	d.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
		if err := g.check(host, address); err != nil {
			return err
		}
		if controlCtx != nil {
			return controlCtx(ctx, network, address, c)
		}
		if control != nil {
			return control(network, address, c)
		}
		return nil
	}
	return d.DialContext(ctx, network, addr)
}

// newClient is the HTTP client of the attempts: every connection goes through the guard, no
// proxy (it would connect on our behalf, unchecked), no redirect (an attempt that is
// redirected failed: the listener must answer at its own URL).
func newClient(g *guard, opts Options) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           g.DialContext,
		TLSClientConfig:       opts.TLSConfig,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

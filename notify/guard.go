package notify

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/apphub/apphub"
)

// A subscriber chooses the callback, so the hub must not become a way to reach what only it
// can reach. The check happens when connecting, on the address the name resolved to (a name
// may resolve elsewhere tomorrow, and a redirect or a second DNS answer must not get around
// it): net.Dialer.Control runs after resolution and before connect(2), once per address
// tried. Loopback stays allowed (local listeners and tests use it); an allow list narrows
// everything further.

// ErrRefusedDestination is wrapped by the error of an attempt whose destination is refused.
var ErrRefusedDestination = errors.New("destination refused")

// ReasonDestinationRefused is the apphub.Error reason of a refused destination.
const ReasonDestinationRefused = "DESTINATION_REFUSED"

// metadataAddrs are cloud instance-metadata endpoints outside the link-local ranges (which
// are refused as a whole): AWS over IPv6, Alibaba Cloud.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"),
}

// nat64 is the well-known NAT64 prefix: an IPv4 address embedded in it is checked as IPv4.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// forbidden returns why ip may never be connected to, or "".
func forbidden(ip netip.Addr) string {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	switch {
	case !ip.IsValid():
		return "not an IP address"
	case ip.IsUnspecified():
		return "unspecified address"
	case ip.WithZone("") == netip.MustParseAddr("169.254.169.254"), containsAddr(metadataAddrs, ip.WithZone("")):
		return "cloud metadata address"
	case ip.IsLinkLocalUnicast():
		return "link-local address"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast address"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast address"
	}
	return ""
}

func containsAddr(list []netip.Addr, ip netip.Addr) bool {
	for _, a := range list {
		if a == ip {
			return true
		}
	}
	return false
}

// guard dials only the destinations allowed.
type guard struct {
	base  net.Dialer
	hosts []string       // allowed host names, lower case; "*.example.com" allows its subdomains
	nets  []netip.Prefix // allowed networks
	open  bool           // no allow list: every address that is not forbidden
}

func newGuard(base *net.Dialer, allow []string) (*guard, error) {
	g := &guard{open: len(allow) == 0}
	if base != nil {
		g.base = *base
	} else {
		g.base = net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	}
	for _, entry := range allow {
		entry = strings.ToLower(strings.TrimSpace(entry))
		if entry == "" {
			continue
		}
		if p, err := netip.ParsePrefix(entry); err == nil {
			g.nets = append(g.nets, p.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(entry); err == nil {
			g.nets = append(g.nets, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		if strings.ContainsAny(entry, "/:[]@ ") {
			return nil, apphub.FieldError("allowList", "%q is neither a host name, an IP address nor a CIDR prefix", entry)
		}
		g.hosts = append(g.hosts, strings.TrimSuffix(entry, "."))
	}
	if !g.open && len(g.hosts) == 0 && len(g.nets) == 0 {
		return nil, apphub.FieldError("allowList", "has no usable entry")
	}
	return g, nil
}

func (g *guard) hostAllowed(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, h := range g.hosts {
		if h == host || (strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:])) {
			return true
		}
	}
	return false
}

// check returns nil when the resolved address may be connected to. hostOK says whether the
// name dialled is on the allow list.
func (g *guard) check(host, address string, hostOK bool) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refused(host, address, "not an IP address")
	}
	ip := ap.Addr()
	if reason := forbidden(ip); reason != "" {
		return refused(host, address, reason)
	}
	if g.open || hostOK {
		return nil
	}
	for _, p := range g.nets {
		if p.Contains(ip.Unmap().WithZone("")) {
			return nil
		}
	}
	return refused(host, address, "not on the allow list")
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
	hostOK := g.hostAllowed(host)
	d := g.base
	control, controlCtx := d.Control, d.ControlContext
	d.Control = nil
	d.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
		if err := g.check(host, address, hostOK); err != nil {
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

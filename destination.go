package apphub

import (
	"fmt"
	"net/netip"
	"strings"
)

// A TMF646 subscriber chooses its callback, and the hub then connects to it from inside the
// operator's network: without a rule, a registration could make the hub reach its own
// loopback, the private network, or a cloud's instance metadata (server-side request
// forgery). So callbacks may reach global unicast addresses only, and one rule says which
// those are. Registration applies it to the callback's host (an IP literal, or a name that is
// internal by construction) and delivery applies it again to every address a name resolves
// to, when connecting: a name may resolve elsewhere tomorrow (DNS rebinding).
//
// The operator may open private networks, by CIDR, for partners on the premises
// (--notify-allow). Some addresses stay refused whatever is opened: unspecified, "this
// network", multicast and broadcast ones are never a listener (connecting to 0.0.0.0 reaches
// the local host), and a cloud's metadata address stays refused unless an allowed prefix
// names exactly that address (a /32 or /128): opening 169.254.0.0/16 for a link-local partner
// must not also open the instance's credentials.

// block is a range of the IANA special-purpose registries that is not globally reachable.
type block struct {
	prefix netip.Prefix
	reason string
}

func blocks(reason string, prefixes ...string) []block {
	out := make([]block, len(prefixes))
	for i, p := range prefixes {
		out[i] = block{netip.MustParsePrefix(p), reason}
	}
	return out
}

// metadataAddrs are the cloud instance-metadata endpoints: most clouds (AWS, GCP, Azure,
// OpenStack, …), AWS ECS task credentials, AWS over IPv6, Alibaba Cloud, Oracle Cloud Classic.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("169.254.170.2"),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"),
	netip.MustParseAddr("192.0.0.192"),
}

// neverBlocks are refused whatever the operator allows.
var neverBlocks = concat(
	blocks("unspecified address", "::/128"),
	blocks(`"this network" address (0.0.0.0/8)`, "0.0.0.0/8"),
	blocks("broadcast address", "255.255.255.255/32"),
	blocks("multicast address", "224.0.0.0/4", "ff00::/8"),
)

// specialBlocks are refused unless the operator allows them. Order matters where they nest:
// the first match names the reason.
var specialBlocks = concat(
	blocks("loopback address", "127.0.0.0/8", "::1/128"),
	blocks("private address (RFC 1918)", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"),
	blocks("shared address space (CGNAT, RFC 6598)", "100.64.0.0/10"),
	blocks("link-local address", "169.254.0.0/16", "fe80::/10"),
	blocks("IETF protocol assignment (192.0.0.0/24)", "192.0.0.0/24"),
	blocks("documentation address", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20"),
	blocks("6to4 relay anycast address (deprecated)", "192.88.99.0/24"),
	blocks("benchmarking address", "198.18.0.0/15"),
	blocks("reserved address (240.0.0.0/4)", "240.0.0.0/4"),
	blocks("local-use NAT64 address (RFC 8215)", "64:ff9b:1::/48"),
	blocks("discard-only address (100::/64)", "100::/64"),
	// Teredo is refused as a whole rather than decoded: it is reached through a relay the hub
	// does not choose, to whatever the client's NAT maps, and no listener needs it today.
	blocks("Teredo address (2001::/32)", "2001::/32"),
	blocks("IETF protocol assignment (2001::/23)", "2001::/23"),
	blocks("unique local address (fc00::/7)", "fc00::/7"),
	blocks("site-local address (deprecated)", "fec0::/10"),
)

func concat(lists ...[]block) []block {
	var out []block
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

var (
	globalUnicast6 = netip.MustParsePrefix("2000::/3") // RFC 4291: the rest of IPv6 is not global unicast
	compatible     = netip.MustParsePrefix("::/96")    // IPv4-compatible (deprecated): ::a.b.c.d
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour      = netip.MustParsePrefix("2002::/16")
)

// embeddedIPv4 returns the IPv4 address that ip leads to, and the form it is embedded in, when
// ip is an IPv6 address that is only a way to reach an IPv4 one. (IPv4-mapped addresses are
// unmapped before.) The local-use NAT64 prefix may put the IPv4 address elsewhere, depending
// on the operator's prefix length; its last 32 bits are checked all the same (the /96
// layout, the common one), and the prefix itself is refused unless allowed.
func embeddedIPv4(ip netip.Addr) (netip.Addr, string) {
	if !ip.Is6() {
		return netip.Addr{}, ""
	}
	b := ip.As16()
	last := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	switch {
	case compatible.Contains(ip) && ip != netip.IPv6Unspecified() && ip != netip.IPv6Loopback():
		return last, "an IPv4-compatible address"
	case nat64.Contains(ip):
		return last, "a NAT64 address"
	case nat64Local.Contains(ip):
		return last, "a local-use NAT64 address"
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), "a 6to4 address"
	}
	return netip.Addr{}, ""
}

// AddressRefusal returns why a callback may not reach ip, or "" when it may: ip must be a
// global unicast address, or in one of the allowed prefixes (the operator's --notify-allow,
// see ParseAllowedNetworks). An IPv4-mapped address is its IPv4 address. An IPv4 address
// embedded in an IPv6 one (IPv4-compatible, NAT64, 6to4) is where the connection ends up, so
// it must be a global unicast address itself; the allowed prefixes do not apply to it.
func AddressRefusal(ip netip.Addr, allowed []netip.Prefix) string {
	ip = ip.WithZone("").Unmap() // a prefix never contains an address with a zone
	if !ip.IsValid() {
		return "not an IP address"
	}
	if v4, form := embeddedIPv4(ip); form != "" {
		// A translator or a tunnel reaches v4 from its own network, not the hub's: the
		// operator's networks do not open it, only global unicast passes.
		if reason := AddressRefusal(v4, nil); reason != "" {
			return reason + " " + v4.String() + " in " + form
		}
		if !nat64Local.Contains(ip) {
			return ""
		}
	}
	for _, m := range metadataAddrs {
		if ip == m {
			for _, p := range allowed {
				if p.IsSingleIP() && p.Addr() == ip {
					return ""
				}
			}
			return "cloud metadata address"
		}
	}
	for _, b := range neverBlocks {
		if b.prefix.Contains(ip) {
			return b.reason
		}
	}
	for _, p := range allowed {
		if p.Contains(ip) {
			return ""
		}
	}
	for _, b := range specialBlocks {
		if b.prefix.Contains(ip) {
			return b.reason
		}
	}
	if ip.Is6() && !globalUnicast6.Contains(ip) {
		return "not a global unicast address (outside 2000::/3)"
	}
	return ""
}

// internalNames are names internal by construction, refused at registration whatever they
// resolve to here and now (they resolve to the hub's own network, or to nothing public):
// the exact names, then the suffixes that make a whole domain internal. Names in namespaces
// that are internal only by habit (.lan, .corp, .home) are left to the check when connecting,
// which refuses them anyway unless they resolve to an allowed network: an on-premises partner
// may use them.
var (
	internalNames = map[string]string{
		"localhost":     "loopback name (RFC 6761)",
		"metadata":      "cloud metadata name (GCP)",
		"instance-data": "cloud metadata name (AWS)",
	}
	internalSuffixes = []struct{ suffix, reason string }{
		{".localhost", "loopback name (RFC 6761)"},
		{".internal", "internal name (.internal is for private use; metadata.google.internal, *.ec2.internal)"},
		{".local", "multicast DNS name (.local, RFC 6762)"},
		{".localdomain", "local host name (.localdomain)"},
		{".home.arpa", "home network name (.home.arpa, RFC 8375)"},
	}
)

// HostRefusal returns why a callback URL's host (url.URL.Hostname: no port, no brackets) is
// refused at registration, or "" when it may be registered. An IP literal must pass
// AddressRefusal. A host whose last label is a number is an IP address to resolvers
// (inet_aton reads 127.1, 2130706433 and 0x7f.1 as 127.0.0.1) and to the WHATWG URL
// standard, and no top-level domain is numeric: only the canonical dotted-quad form is
// accepted, so that what is checked is what is dialled. Names internal by construction
// (internalNames, internalSuffixes) and names without a dot (intranet short names, completed
// by the resolver's search domains) are refused whatever the allowed networks: a name cannot
// be matched against a prefix before it is resolved. Any other name is accepted here; where
// it resolves is checked when connecting.
func HostRefusal(host string, allowed []netip.Prefix) string {
	if ip, err := netip.ParseAddr(host); err == nil {
		return AddressRefusal(ip, allowed)
	}
	// A final dot only makes the name absolute: "localhost." is localhost.
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "" {
		return "no host"
	}
	if ip, err := netip.ParseAddr(name); err == nil {
		return AddressRefusal(ip, allowed)
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if reason := badLabel(l); reason != "" {
			return reason
		}
	}
	if numeric(labels[len(labels)-1]) {
		return "an IP address in a non-canonical form (resolvers read decimal, octal and hex forms as IPv4 addresses)"
	}
	if reason, ok := internalNames[name]; ok {
		return reason
	}
	for _, s := range internalSuffixes {
		if strings.HasSuffix(name, s.suffix) {
			return s.reason
		}
	}
	if len(labels) == 1 {
		return "a name without a dot (an intranet short name, completed by the resolver's search domains)"
	}
	return ""
}

// badLabel says why l is not a DNS label of a host name, or "". Underscores are tolerated
// (some real host names have them). Non-ASCII names are refused: the hub's resolver does not
// convert them, and look-alike characters (fullwidth dots and letters) would otherwise slip
// past the checks above.
func badLabel(l string) string {
	if l == "" || len(l) > 63 {
		return "not a valid host name (an empty or overlong label)"
	}
	for _, c := range []byte(l) {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		case c >= 0x80:
			return "not a valid host name (write an internationalized name in its xn-- form)"
		default:
			return fmt.Sprintf("not a valid host name (the character %q)", c)
		}
	}
	return ""
}

// numeric reports whether a label is a number as inet_aton and the WHATWG URL parser read
// one: decimal (octal with a leading 0) or hexadecimal with 0x.
func numeric(l string) bool {
	digits := "0123456789"
	if len(l) >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X') {
		l, digits = l[2:], "0123456789abcdefABCDEF"
		if l == "" {
			return true // "0x" alone is 0 to both
		}
	}
	return l != "" && strings.Trim(l, digits) == ""
}

// ParseAllowedNetworks parses the operator's allowed networks (--notify-allow): CIDR
// prefixes such as 10.20.0.0/16 or 127.0.0.1/32, opened to callbacks beyond global unicast.
// A host name is not accepted: what a name resolves to is the question the rule answers, not
// a premise. A bare address is not either (write it /32 or /128, which is also what opens a
// metadata address), nor a prefix with host bits set (10.20.1.0/16 is ambiguous: 10.20.0.0/16
// or 10.20.1.0/24?), nor an IPv4-mapped one (write the IPv4 prefix). The error names the entry.
func ParseAllowedNetworks(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range entries {
		e = strings.TrimSpace(e)
		p, err := netip.ParsePrefix(e)
		switch {
		case e == "":
			return nil, Errorf(EINVALID, "an empty entry; give CIDR prefixes such as 10.20.0.0/16")
		case err != nil:
			if ip, err := netip.ParseAddr(e); err == nil {
				return nil, Errorf(EINVALID, "%q is an address, not a CIDR prefix: write %s", e, netip.PrefixFrom(ip.WithZone("").Unmap(), ip.Unmap().BitLen()))
			}
			return nil, Errorf(EINVALID, "%q is not a CIDR prefix such as 10.20.0.0/16 (host names are not accepted)", e)
		case p != p.Masked():
			return nil, Errorf(EINVALID, "%q has bits set after its prefix length: write %s, or a longer prefix", e, p.Masked())
		case p.Addr().Is4In6():
			return nil, Errorf(EINVALID, "%q is an IPv4-mapped prefix: write the IPv4 prefix", e)
		}
		out = append(out, p)
	}
	return out, nil
}

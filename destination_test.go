package apphub_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/apphub/apphub"
)

func prefixes(t *testing.T, entries ...string) []netip.Prefix {
	t.Helper()
	p, err := apphub.ParseAllowedNetworks(entries)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAddressRefusal(t *testing.T) {
	tests := []struct {
		addr    string
		allowed []string
		want    string // a part of the reason; "" when the address may be reached
	}{
		// Global unicast.
		{"8.8.8.8", nil, ""},
		{"1.1.1.1", nil, ""},
		{"100.63.255.255", nil, ""}, // just below CGNAT
		{"100.128.0.0", nil, ""},    // just above
		{"172.15.255.255", nil, ""}, // just below 172.16/12
		{"172.32.0.0", nil, ""},     // just above
		{"198.17.255.255", nil, ""}, // below benchmarking
		{"198.20.0.0", nil, ""},     // above
		{"223.255.255.255", nil, ""},
		{"2606:4700::1111", nil, ""},
		{"2001:4860:4860::8888", nil, ""},
		{"2a00:1450:4007:80e::200e", nil, ""},
		{"::ffff:8.8.8.8", nil, ""},             // IPv4-mapped: the IPv4 address
		{"64:ff9b::808:808", nil, ""},           // NAT64 of 8.8.8.8
		{"2002:808:808::1", nil, ""},            // 6to4 of 8.8.8.8
		{"::808:808", nil, ""},                  // IPv4-compatible 8.8.8.8
		{"2001:200::1", nil, ""},                // beyond 2001::/23
		{"2001:db9::1", nil, ""},                // beyond documentation
		{"8.8.8.8", []string{"10.0.0.0/8"}, ""}, // an allow list opens, it never narrows

		// Loopback, unspecified, "this network".
		{"127.0.0.1", nil, "loopback"},
		{"127.255.255.254", nil, "loopback"},
		{"::1", nil, "loopback"},
		{"::ffff:127.0.0.1", nil, "loopback"},
		{"::127.0.0.1", nil, "loopback address 127.0.0.1 in an IPv4-compatible address"},
		{"0.0.0.0", nil, "this network"},
		{"0.1.2.3", nil, "this network"},
		{"::", nil, "unspecified"},
		{"::ffff:0.0.0.0", nil, "this network"},

		// Private, shared, reserved, broadcast, benchmarking, documentation, IETF.
		{"10.0.0.1", nil, "private"},
		{"192.168.1.1", nil, "private"},
		{"172.16.0.1", nil, "private"},
		{"172.31.255.255", nil, "private"},
		{"100.64.0.1", nil, "CGNAT"},
		{"100.127.255.255", nil, "CGNAT"},
		{"100.100.100.201", nil, "CGNAT"}, // next to Alibaba's metadata address
		{"240.0.0.1", nil, "reserved"},
		{"255.255.255.254", nil, "reserved"},
		{"255.255.255.255", nil, "broadcast"},
		{"198.18.0.1", nil, "benchmarking"},
		{"198.19.255.255", nil, "benchmarking"},
		{"192.0.2.1", nil, "documentation"},
		{"198.51.100.7", nil, "documentation"},
		{"203.0.113.9", nil, "documentation"},
		{"2001:db8::1", nil, "documentation"},
		{"3fff::1", nil, "documentation"},
		{"192.0.0.8", nil, "IETF protocol assignment"},
		{"192.88.99.1", nil, "6to4 relay"},
		{"2001:2::1", nil, "IETF protocol assignment"},

		// Multicast, link-local, ULA, site-local, discard, outside 2000::/3.
		{"224.0.0.1", nil, "multicast"},
		{"239.255.255.250", nil, "multicast"},
		{"ff02::1", nil, "multicast"},
		{"ff05::1:3", nil, "multicast"},
		{"169.254.1.1", nil, "link-local"},
		{"fe80::1", nil, "link-local"},
		{"fe80::1%eth0", nil, "link-local"},
		{"febf::1", nil, "link-local"},
		{"fc00::1", nil, "unique local"},
		{"fd12:3456::1", nil, "unique local"},
		{"fec0::1", nil, "site-local"},
		{"100::1", nil, "discard-only"},
		{"4000::1", nil, "not a global unicast address"},
		{"5f00::1", nil, "not a global unicast address"},

		// Cloud metadata, in every form.
		{"169.254.169.254", nil, "cloud metadata"},
		{"169.254.170.2", nil, "cloud metadata"},
		{"100.100.100.200", nil, "cloud metadata"},
		{"fd00:ec2::254", nil, "cloud metadata"},
		{"192.0.0.192", nil, "cloud metadata"},
		{"::ffff:169.254.169.254", nil, "cloud metadata"},
		{"::ffff:a9fe:a9fe", nil, "cloud metadata"},

		// IPv4 embedded in IPv6: checked as the IPv4 address.
		{"64:ff9b::7f00:1", nil, "loopback address 127.0.0.1 in a NAT64 address"},
		{"64:ff9b::a9fe:a9fe", nil, "cloud metadata address 169.254.169.254 in a NAT64 address"},
		{"64:ff9b::a00:1", nil, "private address (RFC 1918) 10.0.0.1 in a NAT64 address"},
		{"64:ff9b:1::7f00:1", nil, "loopback address 127.0.0.1 in a local-use NAT64 address"},
		{"64:ff9b:1::808:808", nil, "local-use NAT64"}, // not globally reachable, whatever it embeds
		{"2002:7f00:1::1", nil, "loopback address 127.0.0.1 in a 6to4 address"},
		{"2002:a9fe:a9fe::", nil, "cloud metadata address 169.254.169.254 in a 6to4 address"},
		{"2002:c0a8:101::1", nil, "private address (RFC 1918) 192.168.1.1 in a 6to4 address"},
		{"::a9fe:a9fe", nil, "cloud metadata address 169.254.169.254 in an IPv4-compatible address"},
		{"::0.0.0.2", nil, "this network"},
		// Teredo is refused as a whole: server 65.54.227.120, client 8.8.8.8 (inverted).
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", nil, "Teredo"},
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", nil, "Teredo"}, // client 127.0.0.1

		// The operator's networks open private ranges, and only those.
		{"127.0.0.1", []string{"127.0.0.1/32"}, ""},
		{"::ffff:127.0.0.1", []string{"127.0.0.1/32"}, ""},
		{"127.0.0.2", []string{"127.0.0.1/32"}, "loopback"},
		{"::1", []string{"127.0.0.1/32"}, "loopback"},
		{"::1", []string{"::1/128"}, ""},
		{"10.20.3.4", []string{"10.20.0.0/16"}, ""},
		{"10.21.3.4", []string{"10.20.0.0/16"}, "private"},
		// Through a translator, the operator's networks are not the hub's: 10.20.3.4 via NAT64
		// is the translator's own network.
		{"64:ff9b::a14:304", []string{"10.20.0.0/16"}, "private address (RFC 1918) 10.20.3.4 in a NAT64 address"},
		{"64:ff9b::7f00:1", []string{"127.0.0.1/32", "64:ff9b::/96"}, "loopback address 127.0.0.1 in a NAT64 address"},
		{"2002:a14:304::1", []string{"10.20.0.0/16"}, "in a 6to4 address"},
		{"::a14:304", []string{"10.20.0.0/16"}, "in an IPv4-compatible address"},
		{"fd12:3456::1", []string{"fd00::/8"}, ""},
		{"fe80::1%eth0", []string{"fe80::/10"}, ""},
		{"64:ff9b:1::808:808", []string{"64:ff9b:1::/48"}, ""},
		// Metadata stays refused unless named exactly.
		{"169.254.169.254", []string{"169.254.0.0/16"}, "cloud metadata"},
		{"169.254.169.254", []string{"0.0.0.0/0"}, "cloud metadata"},
		{"fd00:ec2::254", []string{"fd00::/8"}, "cloud metadata"},
		{"100.100.100.200", []string{"100.64.0.0/10"}, "cloud metadata"},
		{"169.254.169.254", []string{"169.254.169.254/32"}, ""},
		{"fd00:ec2::254", []string{"fd00:ec2::254/128"}, ""},
		{"169.254.1.1", []string{"169.254.0.0/16"}, ""},
		// Never opened: unspecified, "this network", multicast, broadcast.
		{"0.0.0.0", []string{"0.0.0.0/0"}, "this network"},
		{"::", []string{"::/0"}, "unspecified"},
		{"224.0.0.1", []string{"224.0.0.0/4"}, "multicast"},
		{"255.255.255.255", []string{"255.255.255.255/32"}, "broadcast"},
		// Opening everything opens the private ranges (the operator's choice).
		{"192.168.1.1", []string{"0.0.0.0/0"}, ""},
	}
	for _, tt := range tests {
		got := apphub.AddressRefusal(netip.MustParseAddr(tt.addr), prefixes(t, tt.allowed...))
		if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
			t.Errorf("AddressRefusal(%s, %v) = %q, want %q", tt.addr, tt.allowed, got, tt.want)
		}
	}
	if got := apphub.AddressRefusal(netip.Addr{}, nil); got == "" {
		t.Error("the zero Addr is allowed")
	}
}

func TestHostRefusal(t *testing.T) {
	tests := []struct {
		host    string // as url.URL.Hostname returns it
		allowed []string
		want    string
	}{
		{"listener.example.com", nil, ""},
		{"LISTENER.Example.COM.", nil, ""},
		{"hooks_1.partner-a.example", nil, ""},
		{"0x7f.example.com", nil, ""}, // numeric-looking labels before a real top-level domain
		{"127.0.0.1.nip.io", nil, ""}, // a name: where it resolves is checked when connecting
		{"xn--bcher-kva.example", nil, ""},
		{"8.8.8.8", nil, ""},
		{"2606:4700::1111", nil, ""},

		// IP literals go through the address rule.
		{"127.0.0.1", nil, "loopback"},
		{"127.0.0.1.", nil, "loopback"},
		{"::1", nil, "loopback"},
		{"::ffff:127.0.0.1", nil, "loopback"},
		{"10.0.0.1", nil, "private"},
		{"169.254.169.254", nil, "cloud metadata"},
		{"fd00:ec2::254", nil, "cloud metadata"},
		{"fe80::1%eth0", nil, "link-local"},
		{"127.0.0.1", []string{"127.0.0.1/32"}, ""},
		{"10.20.0.9", []string{"10.20.0.0/16"}, ""},

		// Numbers that resolvers read as IPv4 addresses.
		{"2130706433", nil, "non-canonical"},
		{"0x7f000001", nil, "non-canonical"},
		{"017700000001", nil, "non-canonical"},
		{"0x7f.1", nil, "non-canonical"},
		{"127.1", nil, "non-canonical"},
		{"127.0.1", nil, "non-canonical"},
		{"127.000.000.001", nil, "non-canonical"},
		{"0177.0.0.1", nil, "non-canonical"},
		{"0", nil, "non-canonical"},
		{"1.2.3.4.5", nil, "non-canonical"},
		{"8.8.8.010", nil, "non-canonical"},
		{"example.0x", nil, "non-canonical"},
		{"127.0.0.1", []string{"127.0.0.0/8"}, ""},
		{"127.1", []string{"127.0.0.0/8"}, "non-canonical"}, // only the canonical form, even when allowed

		// Names internal by construction.
		{"localhost", nil, "loopback name"},
		{"LocalHost.", nil, "loopback name"},
		{"app.localhost", nil, "loopback name"},
		{"metadata", nil, "metadata"},
		{"metadata.google.internal", nil, ".internal"},
		{"ip-10-0-0-1.ec2.internal", nil, ".internal"},
		{"instance-data", nil, "metadata"},
		{"printer.local", nil, ".local"},
		{"box.localdomain", nil, ".localdomain"},
		{"nas.home.arpa", nil, ".home.arpa"},
		{"intranet", nil, "without a dot"},
		{"localhost", []string{"127.0.0.1/32"}, "loopback name"}, // a name is never matched against a prefix

		// Not host names.
		{"", nil, "no host"},
		{"a..b", nil, "not a valid host name"},
		{"ｌｏｃａｌｈｏｓｔ", nil, "xn--"},
		{"127。0。0。1", nil, "xn--"},
		{"a b.example", nil, "not a valid host name"},
		{strings.Repeat("a", 64) + ".example", nil, "overlong"},
	}
	for _, tt := range tests {
		got := apphub.HostRefusal(tt.host, prefixes(t, tt.allowed...))
		if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
			t.Errorf("HostRefusal(%q, %v) = %q, want %q", tt.host, tt.allowed, got, tt.want)
		}
	}
}

func TestParseAllowedNetworks(t *testing.T) {
	got, err := apphub.ParseAllowedNetworks([]string{"127.0.0.1/32", " 10.20.0.0/16 ", "::1/128", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.20.0.0/16"),
		netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("fd00::/8")}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %v, want %v", i, got[i], want[i])
		}
	}
	for entry, hint := range map[string]string{
		"10.20.1.0/16":         "10.20.0.0/16",
		"127.0.0.1":            "127.0.0.1/32",
		"::1":                  "::1/128",
		"hooks.partner.test":   "host names are not accepted",
		"*.partner.test":       "not a CIDR prefix",
		"10.0.0.0/33":          "not a CIDR prefix",
		"":                     "empty",
		"::ffff:10.0.0.0/104":  "IPv4-mapped",
		"fe80::/10%eth0":       "not a CIDR prefix",
		"http://10.0.0.0/8":    "not a CIDR prefix",
		"10.0.0.0/8,127.0.0.1": "not a CIDR prefix",
	} {
		_, err := apphub.ParseAllowedNetworks([]string{"192.168.0.0/16", entry})
		if apphub.ErrorCode(err) != apphub.EINVALID || !strings.Contains(err.Error(), hint) || (entry != "" && !strings.Contains(err.Error(), entry)) {
			t.Errorf("ParseAllowedNetworks(%q) = %v, want a VALIDATION error naming it and %q", entry, err, hint)
		}
	}
	if got, err := apphub.ParseAllowedNetworks(nil); err != nil || len(got) != 0 {
		t.Errorf("no entry: %v, %v", got, err)
	}
}

package notify

import (
	"errors"
	"net/netip"
	"testing"
)

func TestForbiddenAddresses(t *testing.T) {
	refused := map[string]string{
		"169.254.169.254":          "cloud metadata address",
		"::ffff:169.254.169.254":   "cloud metadata address",
		"64:ff9b::a9fe:a9fe":       "cloud metadata address", // 169.254.169.254 through NAT64
		"fd00:ec2::254":            "cloud metadata address",
		"100.100.100.200":          "cloud metadata address",
		"169.254.1.1":              "link-local address",
		"fe80::1":                  "link-local address",
		"fe80::1%eth0":             "link-local address",
		"0.0.0.0":                  "unspecified address",
		"::":                       "unspecified address",
		"224.0.0.1":                "multicast address",
		"239.1.2.3":                "multicast address",
		"ff02::1":                  "multicast address",
		"255.255.255.255":          "broadcast address",
		"::ffff:169.254.10.10":     "link-local address",
		"64:ff9b::a9fe:0101":       "link-local address",
		"fd00:ec2:0:0:0:0:0:254":   "cloud metadata address",
		"::ffff:100.100.100.200":   "cloud metadata address",
		"ff05::1:3":                "multicast address",
		"0:0:0:0:0:ffff:e000:0001": "multicast address",
	}
	for s, want := range refused {
		if got := forbidden(netip.MustParseAddr(s)); got != want {
			t.Errorf("forbidden(%s) = %q, want %q", s, got, want)
		}
	}
	// Loopback stays allowed (local listeners, tests), and so do private and public addresses.
	for _, s := range []string{"127.0.0.1", "127.0.0.2", "::1", "10.1.2.3", "192.168.1.1", "100.64.0.1", "8.8.8.8",
		"2001:db8::1", "fd00::1", "100.100.100.201"} {
		if got := forbidden(netip.MustParseAddr(s)); got != "" {
			t.Errorf("forbidden(%s) = %q, want allowed", s, got)
		}
	}
}

func TestGuardAllowList(t *testing.T) {
	g, err := newGuard(nil, []string{"listener.example.com", "*.partner.test", "10.0.0.0/8", "192.168.1.7", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		host, address string
		ok            bool
	}{
		{"listener.example.com", "203.0.113.9:443", true},     // listed by name, wherever it resolves
		{"LISTENER.example.com.", "203.0.113.9:443", true},    // names are case-insensitive, a final dot is fine
		{"a.b.partner.test", "203.0.113.9:80", true},          // a subdomain of *.partner.test
		{"partner.test", "203.0.113.9:80", false},             // *.partner.test is its subdomains only
		{"other.example.com", "10.9.8.7:80", true},            // listed by network
		{"other.example.com", "192.168.1.7:80", true},         // listed by address
		{"other.example.com", "192.168.1.8:80", false},        //
		{"other.example.com", "[2001:db8::5]:80", true},       //
		{"other.example.com", "[::ffff:10.0.0.1]:80", true},   // an IPv4-mapped address is its IPv4 address
		{"127.0.0.1", "127.0.0.1:80", false},                  // loopback is allowed only without an allow list
		{"listener.example.com", "169.254.169.254:80", false}, // forbidden even when listed
		{"listener.example.com", "[fe80::1%eth0]:80", false},  //
	}
	for _, c := range cases {
		err := g.check(c.host, c.address, g.hostAllowed(c.host))
		if (err == nil) != c.ok {
			t.Errorf("check(%s, %s) = %v, want allowed %v", c.host, c.address, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrRefusedDestination) {
			t.Errorf("check(%s, %s) = %v, not an ErrRefusedDestination", c.host, c.address, err)
		}
	}
	for _, bad := range [][]string{{"http://x.test/"}, {"a b"}, {" ", ""}} {
		if _, err := newGuard(nil, bad); err == nil {
			t.Errorf("newGuard(%q) accepted", bad)
		}
	}
}

func TestListenerURL(t *testing.T) {
	cases := map[string]string{
		"http://l.test":              "http://l.test/listener/appointmentStateChangeEvent",
		"http://l.test/":             "http://l.test/listener/appointmentStateChangeEvent",
		"https://l.test:8443/cb/":    "https://l.test:8443/cb/listener/appointmentStateChangeEvent",
		"http://l.test/cb?token=abc": "http://l.test/cb/listener/appointmentStateChangeEvent?token=abc",
	}
	for cb, want := range cases {
		got, err := listenerURL(cb, "AppointmentStateChangeEvent")
		if err != nil || got != want {
			t.Errorf("listenerURL(%q) = %q, %v; want %q", cb, got, err, want)
		}
	}
	for _, bad := range []string{"", "l.test/cb", "ftp://l.test/", "http:///x"} {
		if _, err := listenerURL(bad, "AppointmentCreateEvent"); err == nil {
			t.Errorf("listenerURL(%q) accepted", bad)
		}
	}
}

func TestSignature(t *testing.T) {
	// RFC 4231 test case 2.
	got := Sign([]byte("Jefe"), []byte("what do ya want for nothing?"))
	want := "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if !Verify([]byte("Jefe"), []byte("what do ya want for nothing?"), want) || Verify([]byte("Jefe"), []byte("what do ya want"), want) {
		t.Fatal("Verify disagrees with Sign")
	}
}

func TestBackoff(t *testing.T) {
	n := &Notifier{opts: Options{BaseBackoff: 100, MaxBackoff: 1000}}
	for k, want := range map[int][2]int64{1: {50, 100}, 2: {100, 200}, 3: {200, 400}, 4: {400, 800}, 5: {500, 1000}, 40: {500, 1000}} {
		for range 50 {
			if d := int64(n.backoff(k)); d < want[0] || d > want[1] {
				t.Fatalf("backoff(%d) = %d, want in [%d, %d]", k, d, want[0], want[1])
			}
		}
	}
}

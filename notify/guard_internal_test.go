package notify

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
)

// The guard applies apphub.AddressRefusal to the address a name resolved to, whatever the
// name: only global unicast addresses and the allowed networks are connected to.
func TestGuardChecksEveryAddress(t *testing.T) {
	allowed, err := apphub.ParseAllowedNetworks([]string{"10.20.0.0/16", "127.0.0.1/32", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	g := newGuard(nil, allowed)
	cases := []struct {
		host, address string
		reason        string // "" when allowed
	}{
		{"listener.example.com", "8.8.8.8:443", ""},
		{"listener.example.com", "[2606:4700::1111]:443", ""},
		{"listener.example.com", "10.20.1.2:80", ""},                     // in an allowed network
		{"listener.example.com", "[::ffff:10.20.1.2]:80", ""},            // an IPv4-mapped address is its IPv4 address
		{"listener.example.com", "127.0.0.1:80", ""},                     //
		{"listener.example.com", "[fd12::1]:80", ""},                     //
		{"listener.example.com", "10.21.1.2:80", "private address"},      // next to it
		{"listener.example.com", "127.0.0.2:80", "loopback address"},     //
		{"listener.example.com", "[::1]:80", "loopback address"},         //
		{"localhost", "[::1]:80", "loopback address"},                    //
		{"listener.example.com", "192.168.1.1:80", "private address"},    //
		{"listener.example.com", "100.64.0.1:80", "CGNAT"},               //
		{"listener.example.com", "169.254.169.254:80", "cloud metadata"}, //
		{"listener.example.com", "[fd00:ec2::254]:80", "cloud metadata"}, // in fd00::/8, but metadata needs its exact /128
		{"listener.example.com", "[fe80::1%eth0]:80", "link-local"},      //
		{"listener.example.com", "[64:ff9b::a9fe:a9fe]:80", "cloud metadata"},
		{"listener.example.com", "0.0.0.0:80", "this network"},
		{"listener.example.com", "[::]:80", "unspecified"},
		{"listener.example.com", "224.0.0.1:80", "multicast"},
		{"listener.example.com", "255.255.255.255:80", "broadcast"},
		{"listener.example.com", "not an address", "not an IP address"},
	}
	for _, c := range cases {
		err := g.check(c.host, c.address)
		if (err == nil) != (c.reason == "") {
			t.Errorf("check(%s, %s) = %v, want refused %v", c.host, c.address, err, c.reason != "")
			continue
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrRefusedDestination) || apphub.ErrorReason(err) != ReasonDestinationRefused {
			t.Errorf("check(%s, %s) = %v, not an ErrRefusedDestination", c.host, c.address, err)
		}
		if msg := apphub.ErrorMessage(err); !strings.Contains(msg, c.reason) || !strings.Contains(msg, c.host) {
			t.Errorf("check(%s, %s) = %q, want the host and %q", c.host, c.address, msg, c.reason)
		}
	}
}

// Refused, the dial never connects: a listener on loopback accepts nothing.
func TestGuardDialsNothingRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			c.Close()
		}
	}()
	if c, err := newGuard(nil, nil).DialContext(t.Context(), "tcp", ln.Addr().String()); !errors.Is(err, ErrRefusedDestination) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial %s = %v, want refused", ln.Addr(), err)
	}
	allowed := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	c, err := newGuard(nil, allowed).DialContext(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial %s, allowed: %v", ln.Addr(), err)
	}
	c.Close()
	<-accepted // the allowed dial's connection; the refused one made none
	select {
	case <-accepted:
		t.Fatal("two connections accepted")
	case <-time.After(50 * time.Millisecond):
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

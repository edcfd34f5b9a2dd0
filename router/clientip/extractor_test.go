package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/bulwark-router/bulwark/config"
)

func mustNew(t testing.TB, cfg config.ClientIP) *Extractor {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return e
}

// testTrusted is the proxy fleet used by the tables: an IPv4 network, an
// IPv6 network, a single address, and an IPv4 network written as a mapped
// IPv6 prefix.
var testTrusted = config.ClientIP{TrustedProxies: []string{
	"10.0.0.0/8",
	"2001:db8:ffff::/48",
	"198.51.100.7",
	"::ffff:192.168.0.0/112",
}}

func addr(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	return netip.MustParseAddr(s)
}

func TestClient(t *testing.T) {
	e := mustNew(t, testTrusted)
	tests := []struct {
		name string
		peer string
		hdr  []string
		want string
	}{
		// An untrusted peer's header is never believed.
		{"untrusted, no header", "203.0.113.9", nil, "203.0.113.9"},
		{"untrusted spoofs XFF", "203.0.113.9", []string{"1.2.3.4"}, "203.0.113.9"},
		{"untrusted spoofs trusted-looking chain", "203.0.113.9", []string{"1.2.3.4, 10.0.0.1"}, "203.0.113.9"},
		{"untrusted IPv4-mapped peer", "::ffff:203.0.113.9", []string{"1.2.3.4"}, "203.0.113.9"},
		{"untrusted IPv6 peer with zone", "fe80::1%eth0", []string{"1.2.3.4"}, "fe80::1"},
		{"untrusted IPv6 peer", "2001:db8:1::5", []string{"10.0.0.1"}, "2001:db8:1::5"},

		// A trusted peer: the rightmost untrusted entry is the client.
		{"trusted, no header", "10.0.0.1", nil, "10.0.0.1"},
		{"trusted, empty header", "10.0.0.1", []string{""}, "10.0.0.1"},
		{"trusted, blank header", "10.0.0.1", []string{" \t "}, "10.0.0.1"},
		{"trusted, one client", "10.0.0.1", []string{"203.0.113.9"}, "203.0.113.9"},
		{"client's own spoof on the left is ignored", "10.0.0.1", []string{"6.6.6.6, 203.0.113.9"}, "203.0.113.9"},
		{"spoofed trusted address on the left", "10.0.0.1", []string{"10.9.9.9, 203.0.113.9"}, "203.0.113.9"},
		{"several trusted hops", "10.0.0.1", []string{"6.6.6.6, 203.0.113.9, 10.1.1.1, 198.51.100.7, 10.2.2.2"}, "203.0.113.9"},
		{"all trusted: leftmost", "10.0.0.1", []string{"10.3.3.3, 10.1.1.1"}, "10.3.3.3"},
		{"all trusted, single", "10.0.0.1", []string{"198.51.100.7"}, "198.51.100.7"},
		{"trusted single address peer", "198.51.100.7", []string{"203.0.113.9"}, "203.0.113.9"},
		{"trusted via mapped prefix", "192.168.4.4", []string{"203.0.113.9"}, "203.0.113.9"},
		{"trusted IPv4-mapped peer", "::ffff:10.0.0.1", []string{"203.0.113.9"}, "203.0.113.9"},
		{"trusted IPv6 peer", "2001:db8:ffff::1", []string{"2001:db8:1::5, 2001:db8:ffff::2"}, "2001:db8:1::5"},
		{"trusted IPv6 peer with zone", "2001:db8:ffff::1%eth0", []string{"203.0.113.9"}, "203.0.113.9"},

		// Garbage stops the walk at the trusted hop to its right.
		{"garbage only", "10.0.0.1", []string{"garbage"}, "10.0.0.1"},
		{"garbage rightmost", "10.0.0.1", []string{"203.0.113.9, garbage"}, "10.0.0.1"},
		{"garbage after a trusted hop", "10.0.0.1", []string{"203.0.113.9, unknown, 10.1.1.1"}, "10.1.1.1"},
		{"garbage after two trusted hops", "10.0.0.1", []string{"203.0.113.9, _hidden, 10.1.1.1, 10.2.2.2"}, "10.1.1.1"},
		{"garbage left of the client", "10.0.0.1", []string{"garbage, 203.0.113.9"}, "203.0.113.9"},
		{"garbage left of the client, trusted hop", "10.0.0.1", []string{"%%%, 203.0.113.9, 10.1.1.1"}, "203.0.113.9"},
		{"port out of range", "10.0.0.1", []string{"203.0.113.9:99999"}, "10.0.0.1"},
		{"port not numeric", "10.0.0.1", []string{"203.0.113.9:http"}, "10.0.0.1"},
		{"empty port", "10.0.0.1", []string{"203.0.113.9:"}, "10.0.0.1"},
		{"bracketed IPv4", "10.0.0.1", []string{"[203.0.113.9]"}, "10.0.0.1"},
		{"IPv4 with zone", "10.0.0.1", []string{"203.0.113.9%eth0"}, "10.0.0.1"},
		{"unclosed bracket", "10.0.0.1", []string{"[2001:db8::1"}, "10.0.0.1"},
		{"text after bracket", "10.0.0.1", []string{"[2001:db8::1]x"}, "10.0.0.1"},
		{"empty zone", "10.0.0.1", []string{"fe80::1%"}, "10.0.0.1"},
		{"RFC 7239 syntax is not X-Forwarded-For", "10.0.0.1", []string{"for=203.0.113.9"}, "10.0.0.1"},
		{"quoted", "10.0.0.1", []string{`"203.0.113.9"`}, "10.0.0.1"},

		// Entry forms.
		{"IPv4 with port", "10.0.0.1", []string{"203.0.113.9:5678"}, "203.0.113.9"},
		{"IPv6", "10.0.0.1", []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv6 bracketed", "10.0.0.1", []string{"[2001:db8::1]"}, "2001:db8::1"},
		{"IPv6 bracketed with port", "10.0.0.1", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"IPv6 with zone", "10.0.0.1", []string{"fe80::1%eth0"}, "fe80::1"},
		{"IPv6 bracketed with zone and port", "10.0.0.1", []string{"[fe80::1%25eth0]:443"}, "fe80::1"},
		{"IPv4-mapped client", "10.0.0.1", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
		{"IPv4-mapped trusted hop is skipped", "10.0.0.1", []string{"203.0.113.9, ::ffff:10.1.1.1"}, "203.0.113.9"},
		{"IPv4-mapped bracketed with port", "10.0.0.1", []string{"[::ffff:203.0.113.9]:80"}, "203.0.113.9"},
		{"trusted IPv6 hop bracketed", "10.0.0.1", []string{"203.0.113.9, [2001:db8:ffff::9]:443"}, "203.0.113.9"},

		// List syntax.
		{"empty entries are skipped", "10.0.0.1", []string{"203.0.113.9,, ,10.1.1.1,"}, "203.0.113.9"},
		{"tabs and spaces", "10.0.0.1", []string{"\t203.0.113.9 ,\t10.1.1.1 "}, "203.0.113.9"},
		{"no spaces", "10.0.0.1", []string{"6.6.6.6,203.0.113.9,10.1.1.1"}, "203.0.113.9"},
		{"multiple lines joined in order", "10.0.0.1", []string{"6.6.6.6, 203.0.113.9", "10.1.1.1"}, "203.0.113.9"},
		{"multiple lines, client in the last", "10.0.0.1", []string{"6.6.6.6", "203.0.113.9, 10.1.1.1"}, "203.0.113.9"},
		{"multiple lines, order matters", "10.0.0.1", []string{"203.0.113.9", "198.51.100.99"}, "198.51.100.99"},
		{"multiple lines, all trusted", "10.0.0.1", []string{"10.5.5.5", "10.1.1.1"}, "10.5.5.5"},
		{"multiple lines, empty line skipped", "10.0.0.1", []string{"203.0.113.9", ""}, "203.0.113.9"},
		{"multiple lines, garbage line", "10.0.0.1", []string{"203.0.113.9", "junk", "10.1.1.1"}, "10.1.1.1"},

		{"zero peer", "", []string{"203.0.113.9"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.Client(addr(tt.peer), tt.hdr)
			if want := addr(tt.want); got != want {
				t.Errorf("Client(%s, %q) = %v, want %v", tt.peer, tt.hdr, got, want)
			}
		})
	}
}

func TestClientTrustNobody(t *testing.T) {
	for _, e := range []*Extractor{mustNew(t, config.ClientIP{}), {}} {
		got := e.Client(addr("10.0.0.1"), []string{"203.0.113.9"})
		if got != addr("10.0.0.1") {
			t.Errorf("Client = %v, want the peer", got)
		}
		if e.Trusted(addr("127.0.0.1")) {
			t.Error("Trusted(127.0.0.1) with no trusted_proxies")
		}
		if h := e.Header(); h != "X-Forwarded-For" {
			t.Errorf("Header() = %q", h)
		}
		if k := e.Key(addr("2001:db8:1:2:3:4:5:6")); k != addr("2001:db8:1:2::") {
			t.Errorf("Key = %v, want /64", k)
		}
	}
}

func TestTrusted(t *testing.T) {
	e := mustNew(t, testTrusted)
	tests := []struct {
		give string
		want bool
	}{
		{"10.0.0.1", true},
		{"10.255.255.255", true},
		{"11.0.0.1", false},
		{"::ffff:10.0.0.1", true},
		{"198.51.100.7", true},
		{"198.51.100.8", false},
		{"192.168.200.1", true},
		{"::ffff:192.168.200.1", true},
		{"192.169.0.1", false},
		{"2001:db8:ffff:1::1", true},
		{"2001:db8:ffff::1%eth0", true},
		{"2001:db8:fffe::1", false},
		{"::1", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := e.Trusted(addr(tt.give)); got != tt.want {
			t.Errorf("Trusted(%s) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		bits int
		give string
		want string
	}{
		{0, "203.0.113.9", "203.0.113.9"},
		{0, "::ffff:203.0.113.9", "203.0.113.9"},
		{0, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"},
		{0, "2001:db8:1:2:ffff::1%eth0", "2001:db8:1:2::"},
		{48, "2001:db8:1:2:3:4:5:6", "2001:db8:1::"},
		{128, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"},
		{56, "2001:db8:1:2ff::1", "2001:db8:1:200::"},
		{64, "", ""},
	}
	for _, tt := range tests {
		e := mustNew(t, config.ClientIP{IPv6Prefix: tt.bits})
		if got := e.Key(addr(tt.give)); got != addr(tt.want) {
			t.Errorf("/%d Key(%s) = %v, want %v", tt.bits, tt.give, got, tt.want)
		}
	}
}

func TestNew(t *testing.T) {
	e := mustNew(t, config.ClientIP{Header: "x-real-ip", IPv6Prefix: 56})
	if e.Header() != "X-Real-Ip" {
		t.Errorf("Header() = %q, want canonical X-Real-Ip", e.Header())
	}
	bad := []struct {
		cfg  config.ClientIP
		want string
	}{
		{config.ClientIP{TrustedProxies: []string{"10.0.0.0/8", "10.0.0/8"}}, "trusted_proxies[1]"},
		{config.ClientIP{TrustedProxies: []string{"nope"}}, "trusted_proxies[0]"},
		{config.ClientIP{Header: "X Forwarded"}, "client_ip.header"},
		{config.ClientIP{Header: "X-F:"}, "client_ip.header"},
		{config.ClientIP{IPv6Prefix: 129}, "ipv6_prefix"},
		{config.ClientIP{IPv6Prefix: -1}, "ipv6_prefix"},
	}
	for _, tt := range bad {
		_, err := New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want an error about %s", tt.cfg, err, tt.want)
		}
	}
}

func TestNewFromLoadedConfig(t *testing.T) {
	c, err := config.Load([]byte(`
client_ip:
  trusted_proxies: [10.0.0.0/8]
  header: X-Real-IP
  ipv6_prefix: 48
backends: {app: {targets: ["http://127.0.0.1:1"]}}
routes: [{backend: app}]
`))
	if err != nil {
		t.Fatal(err)
	}
	e := mustNew(t, c.ClientIP)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.1:40000"
	r.Header.Set("X-Real-IP", "2001:db8:1:2:3::1")
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	client, peer := e.FromRequest(r)
	if peer != addr("10.0.0.1") || client != addr("2001:db8:1:2:3::1") {
		t.Errorf("FromRequest = %v, %v", client, peer)
	}
	if k := e.Key(client); k != addr("2001:db8:1::") {
		t.Errorf("Key = %v", k)
	}
}

func TestFromRequest(t *testing.T) {
	e := mustNew(t, testTrusted)
	tests := []struct {
		remote     string
		xff        []string
		wantClient string
		wantPeer   string
	}{
		{"203.0.113.9:1234", []string{"1.2.3.4"}, "203.0.113.9", "203.0.113.9"},
		{"10.0.0.1:1234", []string{"1.2.3.4", "10.1.1.1"}, "1.2.3.4", "10.0.0.1"},
		{"[::ffff:10.0.0.1]:1234", []string{"1.2.3.4"}, "1.2.3.4", "10.0.0.1"},
		{"@", []string{"1.2.3.4"}, "", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tt.remote
		for _, v := range tt.xff {
			r.Header.Add("x-forwarded-for", v)
		}
		client, peer := e.FromRequest(r)
		if client != addr(tt.wantClient) || peer != addr(tt.wantPeer) {
			t.Errorf("FromRequest(%s, %q) = %v, %v; want %s, %s", tt.remote, tt.xff, client, peer, tt.wantClient, tt.wantPeer)
		}
	}
}

func TestParsePeer(t *testing.T) {
	tests := []struct {
		give   string
		want   string
		wantOK bool
	}{
		{"192.0.2.1:5678", "192.0.2.1", true},
		{"[2001:db8::1]:443", "2001:db8::1", true},
		{"[fe80::1%eth0]:443", "fe80::1", true},
		{"[::ffff:192.0.2.1]:80", "192.0.2.1", true},
		{"192.0.2.1", "192.0.2.1", true},
		{"2001:db8::1", "2001:db8::1", true},
		{"@", "", false},
		{"", "", false},
		{"example.com:80", "", false},
		{"192.0.2.1:", "", false},
		{"[2001:db8::1]", "", false},
	}
	for _, tt := range tests {
		got, ok := ParsePeer(tt.give)
		if got != addr(tt.want) || ok != tt.wantOK {
			t.Errorf("ParsePeer(%q) = %v, %v; want %s, %v", tt.give, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestClientAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	e := mustNew(t, testTrusted)
	cases := []struct {
		name string
		peer netip.Addr
		hdr  []string
	}{
		{"untrusted", addr("203.0.113.9"), []string{"1.2.3.4"}},
		{"v4 chain", addr("10.0.0.1"), []string{"6.6.6.6, 203.0.113.9, 10.1.1.1"}},
		{"v6 bracketed", addr("2001:db8:ffff::1"), []string{"[2001:db8::1]:443", "2001:db8:ffff::2"}},
		{"ports", addr("10.0.0.1"), []string{"203.0.113.9:5678, 10.1.1.1:80"}},
		{"zones", addr("fe80::1%eth0"), nil},
		{"zone in header", addr("10.0.0.1"), []string{"[fe80::1%eth0]:443, 10.1.1.1"}},
		{"all trusted", addr("10.0.0.1"), []string{"10.3.3.3, , 10.1.1.1"}},
	}
	for _, c := range cases {
		if n := testing.AllocsPerRun(100, func() { e.Key(e.Client(c.peer, c.hdr)) }); n != 0 {
			t.Errorf("%s: %v allocs per Client, want 0", c.name, n)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.1:40000"
	r.Header.Set("X-Forwarded-For", "203.0.113.9, 10.1.1.1")
	if n := testing.AllocsPerRun(100, func() { e.FromRequest(r) }); n != 0 {
		t.Errorf("%v allocs per FromRequest, want 0", n)
	}
}

// Package clientip finds the real client behind proxies: it decides which
// socket peers are trusted proxies, walks their forwarded header, keys IPv6
// clients by prefix, accepts the PROXY protocol only from trusted peers and
// hands out request ids.
//
// The client is found as nginx's real_ip_recursive and HAProxy's
// option forwardfor expect: the forwarded header (X-Forwarded-For by
// default) is believed only when the socket peer is a trusted proxy, and it
// is read right to left, skipping trusted hops; the first untrusted address
// is the client. Every entry to the left of it was written by the client
// itself and is never believed.
package clientip

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/bulwark-router/bulwark/config"
)

// Defaults used for the zero ClientIP fields and by the zero Extractor.
const (
	DefaultHeader     = "X-Forwarded-For"
	DefaultIPv6Prefix = 64
)

// Extractor finds the client of a request. Build it with New. It is never
// mutated after New, so it is safe for concurrent use.
//
// The zero Extractor trusts nobody (the socket peer is always the client),
// reads X-Forwarded-For and keys IPv6 clients per /64.
type Extractor struct {
	trusted []netip.Prefix // IPv4 prefixes are plain IPv4, never 4in6
	header  string         // canonical form
	v6bits  int
}

// New builds an Extractor from the client_ip section of the config. Empty
// Header and zero IPv6Prefix take their defaults; an invalid CIDR, header
// name or prefix length is an error.
func New(cfg config.ClientIP) (*Extractor, error) {
	e := &Extractor{header: DefaultHeader, v6bits: DefaultIPv6Prefix}
	if h := strings.TrimSpace(cfg.Header); h != "" {
		if !validHeaderName(h) {
			return nil, fmt.Errorf("client_ip.header: invalid header name %q", cfg.Header)
		}
		e.header = http.CanonicalHeaderKey(h)
	}
	if cfg.IPv6Prefix != 0 {
		if cfg.IPv6Prefix < 1 || cfg.IPv6Prefix > 128 {
			return nil, fmt.Errorf("client_ip.ipv6_prefix: %d is not between 1 and 128", cfg.IPv6Prefix)
		}
		e.v6bits = cfg.IPv6Prefix
	}
	for i, s := range cfg.TrustedProxies {
		p, err := config.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("client_ip.trusted_proxies[%d]: %w", i, err)
		}
		e.trusted = append(e.trusted, unmapPrefix(p))
	}
	return e, nil
}

// unmapPrefix turns an IPv4-mapped prefix (::ffff:10.0.0.0/104) into the
// IPv4 prefix it means (10.0.0.0/8), since addresses are unmapped before
// they are matched.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr()
	if !a.Is4In6() {
		return p
	}
	bits := p.Bits() - 96
	if bits < 0 {
		// Wider than the whole mapped range: it covers all of IPv4.
		bits = 0
	}
	return netip.PrefixFrom(a.Unmap(), bits).Masked()
}

func validHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+.^_|~-", c) >= 0:
		default:
			return false
		}
	}
	return s != ""
}

// Header returns the canonical name of the forwarded header.
func (e *Extractor) Header() string {
	if e.header == "" {
		return DefaultHeader
	}
	return e.header
}

// Trusted reports whether peer is in client_ip.trusted_proxies. IPv4-mapped
// IPv6 addresses match their IPv4 prefixes; zones are ignored.
func (e *Extractor) Trusted(peer netip.Addr) bool {
	if !peer.IsValid() || len(e.trusted) == 0 {
		return false
	}
	peer = normalize(peer)
	for _, p := range e.trusted {
		if p.Contains(peer) {
			return true
		}
	}
	return false
}

// normalize unmaps IPv4-mapped IPv6 and drops the zone.
func normalize(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Zone() != "" {
		a = a.WithZone("")
	}
	return a
}

// Client returns the real client of a request whose socket peer is peer and
// whose forwarded header values are hdr (r.Header.Values(e.Header()), in
// the order they arrived). The result is unmapped and has no zone.
//
// When peer is not trusted, hdr is ignored and peer is the client.
// Otherwise the entries of hdr (the lines joined in order, then split on
// commas) are walked from the right:
//
//   - an untrusted address is the client;
//   - a trusted address is a proxy hop: remember it and go on left;
//   - empty entries are skipped, as RFC 9110 lists allow;
//   - an entry that is not an address stops the walk, and the last
//     trusted hop to its right is the client (peer if there is none). The
//     hop that wrote or passed on garbage is the furthest point of the chain
//     a trusted machine vouches for; nothing to its left is believed;
//   - when every entry is a trusted hop, the leftmost one is the client.
//
// Entries may be a bare address ("2001:db8::1", "fe80::1%eth0"), a
// bracketed one ("[2001:db8::1]") or carry a port ("[2001:db8::1]:443",
// "192.0.2.1:5678"). Client does not allocate, zones included, except
// for the parse error of an entry that is not an address.
//
// If peer is the zero Addr the result is the zero Addr; otherwise it is
// always valid.
func (e *Extractor) Client(peer netip.Addr, hdr []string) netip.Addr {
	if !peer.IsValid() {
		return netip.Addr{}
	}
	peer = normalize(peer)
	if !e.Trusted(peer) {
		return peer
	}
	last := peer
	for i := len(hdr) - 1; i >= 0; i-- {
		line := hdr[i]
		for line != "" {
			var entry string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				entry, line = line[j+1:], line[:j]
			} else {
				entry, line = line, ""
			}
			entry = trimOWS(entry)
			if entry == "" {
				continue
			}
			a, ok := parseHop(entry)
			if !ok {
				return last
			}
			if !e.Trusted(a) {
				return a
			}
			last = a
		}
	}
	return last
}

// FromRequest returns the socket peer of r (from r.RemoteAddr) and the
// client found by Client. peer is the zero Addr when RemoteAddr is not an
// IP address (a Unix socket, a test double); client is then zero too.
func (e *Extractor) FromRequest(r *http.Request) (client, peer netip.Addr) {
	peer, ok := ParsePeer(r.RemoteAddr)
	if !ok {
		return netip.Addr{}, netip.Addr{}
	}
	// The map is indexed with the canonical name directly: Header.Values
	// would canonicalise it again on every request.
	return e.Client(peer, r.Header[e.Header()]), peer
}

// Key returns the address a client is tracked under: IPv4 addresses
// unchanged, IPv6 addresses masked to client_ip.ipv6_prefix, since one
// subscriber commonly holds a whole /64. The zero Addr stays zero.
func (e *Extractor) Key(client netip.Addr) netip.Addr {
	client = normalize(client)
	if !client.Is6() {
		return client
	}
	bits := e.v6bits
	if bits == 0 {
		bits = DefaultIPv6Prefix
	}
	p, err := client.Prefix(bits)
	if err != nil {
		return client
	}
	return p.Addr()
}

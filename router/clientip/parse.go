package clientip

import (
	"net/netip"
	"strings"
)

// ParsePeer returns the address in an http.Request's RemoteAddr
// ("192.0.2.1:5678", "[2001:db8::1]:443", "[fe80::1%eth0]:443"), unmapped
// and without zone. A bare address is accepted too. ok is false for
// anything else (a Unix socket's "@", an empty string).
func ParsePeer(remoteAddr string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return normalize(ap.Addr()), true
	}
	if a, err := netip.ParseAddr(remoteAddr); err == nil {
		return normalize(a), true
	}
	return netip.Addr{}, false
}

// parseHop parses one forwarded-header entry, already trimmed and not
// empty: "192.0.2.1", "192.0.2.1:5678", "2001:db8::1", "[2001:db8::1]",
// "[2001:db8::1]:443", "fe80::1%eth0", "[fe80::1%eth0]:443". The result is
// unmapped and without zone. It slices s rather than splitting it, so it
// does not allocate for well-formed entries.
func parseHop(s string) (netip.Addr, bool) {
	bracketed := false
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 || !validPortSuffix(s[end+1:]) {
			return netip.Addr{}, false
		}
		s, bracketed = s[1:end], true
	} else if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') < 0 {
		// Exactly one colon: an IPv4 address with a port.
		if !validPortSuffix(s[i:]) {
			return netip.Addr{}, false
		}
		s = s[:i]
	}
	hasZone := false
	if i := strings.IndexByte(s, '%'); i >= 0 {
		if i == len(s)-1 {
			return netip.Addr{}, false
		}
		// The zone only means something on the proxy's own link: drop it
		// before parsing, which also avoids interning it.
		s, hasZone = s[:i], true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	if a.Is4() && (hasZone || bracketed) {
		// "[192.0.2.1]" and "192.0.2.1%eth0" are not addresses.
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// validPortSuffix accepts "" or ":" followed by a decimal port 0-65535.
func validPortSuffix(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != ':' || len(s) < 2 || len(s) > 6 {
		return false
	}
	n := 0
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// trimOWS trims the optional whitespace (spaces and tabs) around a list
// entry.
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

package clientip

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzClient feeds the forwarded-header parser arbitrary chains. peer is a
// RemoteAddr-style string; header lines are separated by '\n'. Whatever the
// input, Client must not panic and must return either the peer or an address
// written in the header, and never the zero Addr when the peer is valid.
func FuzzClient(f *testing.F) {
	seeds := []struct{ peer, hdr string }{
		{"10.0.0.1:1", "203.0.113.9"},
		{"10.0.0.1:1", "6.6.6.6, 203.0.113.9, 10.1.1.1"},
		{"10.0.0.1:1", "garbage, 203.0.113.9, unknown, 10.1.1.1"},
		{"10.0.0.1:1", "[2001:db8::1]:443, fe80::1%eth0"},
		{"[2001:db8:ffff::1]:1", "::ffff:203.0.113.9\n10.2.2.2, ,"},
		{"[fe80::1%eth0]:1", "1.2.3.4"},
		{"203.0.113.9:1", "10.0.0.1"},
		{"10.0.0.1:1", "[::ffff:1.2.3.4]:99999,[1.2.3.4],%,[,],:"},
		{"@", "1.2.3.4"},
	}
	for _, s := range seeds {
		f.Add(s.peer, s.hdr)
	}
	e, err := New(testTrusted)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, remote, header string) {
		peer, ok := ParsePeer(remote)
		if ok && (!peer.IsValid() || peer.Zone() != "" || peer.Is4In6()) {
			t.Fatalf("ParsePeer(%q) = %v, true", remote, peer)
		}
		hdr := strings.Split(header, "\n")
		got := e.Client(peer, hdr)
		if !peer.IsValid() {
			if got.IsValid() {
				t.Fatalf("Client(zero, %q) = %v, want zero", hdr, got)
			}
			return
		}
		if !got.IsValid() {
			t.Fatalf("Client(%v, %q) = zero Addr", peer, hdr)
		}
		if got.Zone() != "" || got.Is4In6() {
			t.Fatalf("Client(%v, %q) = %v, not normalised", peer, hdr, got)
		}
		if !e.Trusted(peer) {
			if got != peer {
				t.Fatalf("untrusted peer %v: Client = %v, want the peer", peer, got)
			}
			return
		}
		if got != peer && !inHeader(got, hdr) {
			t.Fatalf("Client(%v, %q) = %v: neither the peer nor in the header", peer, hdr, got)
		}
		_ = e.Key(got)
	})
}

// inHeader reports whether a appears in hdr, found by a parser written
// independently of parseHop: every way netip reads an entry, with or
// without brackets and port.
func inHeader(a netip.Addr, hdr []string) bool {
	for _, line := range hdr {
		for _, entry := range strings.Split(line, ",") {
			entry = strings.Trim(entry, " \t")
			cands := []string{entry, strings.TrimSuffix(strings.TrimPrefix(entry, "["), "]")}
			for _, c := range cands {
				if b, err := netip.ParseAddr(c); err == nil && b.WithZone("").Unmap() == a {
					return true
				}
				if ap, err := netip.ParseAddrPort(c); err == nil && ap.Addr().WithZone("").Unmap() == a {
					return true
				}
				// Zones are dropped before parsing; look for the
				// address text itself.
				if i := strings.IndexByte(c, '%'); i > 0 {
					if b, err := netip.ParseAddr(strings.TrimPrefix(c[:i], "[")); err == nil && b.Unmap() == a {
						return true
					}
				}
			}
		}
	}
	return false
}

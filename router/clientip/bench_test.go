package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func BenchmarkClient(b *testing.B) {
	e := mustNew(b, testTrusted)
	cases := []struct {
		name string
		peer netip.Addr
		hdr  []string
	}{
		{"untrusted", addr("203.0.113.9"), []string{"1.2.3.4"}},
		{"one_hop", addr("10.0.0.1"), []string{"203.0.113.9"}},
		{"three_hops", addr("10.0.0.1"), []string{"6.6.6.6, 203.0.113.9, 10.1.1.1, 198.51.100.7"}},
		{"ipv6_bracketed", addr("2001:db8:ffff::1"), []string{"[2001:db8::1]:443", "2001:db8:ffff::2"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = e.Key(e.Client(c.peer, c.hdr))
				}
			})
		})
	}
}

func BenchmarkFromRequest(b *testing.B) {
	e := mustNew(b, testTrusted)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.1:40000"
	r.Header.Set("X-Forwarded-For", "203.0.113.9, 10.1.1.1")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = e.FromRequest(r)
		}
	})
}

func BenchmarkRequestID(b *testing.B) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = RequestID(r, false)
			}
		})
	})
	kept := httptest.NewRequest(http.MethodGet, "/", nil)
	kept.Header.Set(RequestIDHeader, "4f1c2a9e-lb-7")
	b.Run("kept", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = RequestID(kept, true)
			}
		})
	})
}

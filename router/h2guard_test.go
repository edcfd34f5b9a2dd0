package router

import (
	"net/netip"
	"testing"

	"go.uber.org/zap"

	"github.com/bulwark-router/bulwark/config"
)

// scanAll scans b in pieces of size n (the whole when n <= 0) with a fresh
// guard and returns where it cut (len(b) when it did not) and the abuse.
func scanAll(rt *Router, b []byte, n int) int {
	c := &h2Conn{rt: rt, limits: config.DefaultHTTP2(), maxHdr: 1 << 10}
	// A trusted peer's stream tracking, so its HPACK decoding is fuzzed too.
	c.streams = newH2Streams("X-Forwarded-For", func([]string) netip.Addr { return netip.MustParseAddr("192.0.2.1") })
	off := 0
	for off < len(b) {
		end := len(b)
		if n > 0 {
			end = min(off+n, len(b))
		}
		k := c.scan(b[off:end])
		if k < end-off {
			return off + k
		}
		off = end
	}
	return len(b)
}

// frameBytes is a frame header for length, type and flags on stream 1,
// with a zero payload.
func frameBytes(length int, typ, flags byte) []byte {
	b := []byte{byte(length >> 16), byte(length >> 8), byte(length), typ, flags, 0, 0, 0, 1}
	return append(b, make([]byte, length)...)
}

func guardRouter(t testing.TB) *Router {
	cfg, err := config.Load([]byte("backends: {app: {targets: [\"http://127.0.0.1:1\"]}}\nroutes: [{backend: app}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := New(cfg, Options{Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// The guard cuts the stream just before the frame that crosses a bound,
// however the bytes arrive: within its header when the header came in two
// reads (what went on before is a partial frame x/net/http2 never acts on).
func TestH2GuardCutsAtTheFrame(t *testing.T) {
	rt := guardRouter(t)
	var b []byte
	for range 16 {
		b = append(b, frameBytes(3, frameContinuation, 0)...)
	}
	headers := frameBytes(5, frameHeaders, 0)
	stream := append(append([]byte{}, headers...), b...)
	stream = append(stream, frameBytes(3, frameContinuation, 0)...) // the 17th
	want := len(stream) - 12
	for _, n := range []int{0, 1, 5, 9, 13} {
		if got := scanAll(rt, stream, n); got < want || got >= want+9 {
			t.Errorf("pieces of %d: cut at %d, want %d", n, got, want)
		}
	}
	if got := rt.H2Abuse()[h2Continuation]; got != 5 {
		t.Errorf("counted %d, want 5", got)
	}
}

// FuzzH2Scan: any bytes, in any pieces, are cut at the same frame, within
// the bytes given, without a panic.
func FuzzH2Scan(f *testing.F) {
	f.Add(frameBytes(0, frameSettings, 0), 3)
	f.Add(append(frameBytes(4, frameRSTStream, 0), frameBytes(8, framePing, 0)...), 7)
	f.Add(append(frameBytes(2, frameHeaders, 0), frameBytes(2000, frameContinuation, 0)...), 1)
	hb := headerBlock("203.0.113.7")
	h := append([]byte{0, 0, byte(len(hb)), frameHeaders, flagEndHeaders | flagEndStream, 0, 0, 0, 3}, hb...)
	f.Add(append(h, frameBytes(4, frameRSTStream, 0)...), 11)
	rt := guardRouter(f)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		whole := scanAll(rt, b, 0)
		if whole < 0 || whole > len(b) {
			t.Fatalf("cut at %d of %d", whole, len(b))
		}
		if n = n % 64; n > 0 {
			if got := scanAll(rt, b, n); got < whole || got > whole+8 || (whole == len(b) && got != whole) {
				t.Fatalf("pieces of %d cut at %d, whole at %d", n, got, whole)
			}
		}
	})
}

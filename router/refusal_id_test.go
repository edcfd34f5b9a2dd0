package router

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/ratelimit"
	"github.com/bulwark-router/bulwark/router/clientip"
)

// appendWithID gives bytes's answer with its own X-Request-Id, for GET and
// HEAD, and allocates nothing once the answer is held.
func TestAnswersAppendWithID(t *testing.T) {
	h := newDecider(t, `
limits:
  default: {rate: 1/s, burst: 1}
`)
	h.req(0, "192.0.2.1", "default")
	d := h.req(0, "192.0.2.1", "default")
	if d.Status != 429 {
		t.Fatalf("status %d", d.Status)
	}
	date := []byte("Sun, 22 Nov 2026 10:00:00 GMT")
	var a answers
	for _, head := range []bool{false, true} {
		id := []byte("0123456789abcdef0123456789abcdef")
		got := a.appendWithID(nil, &d, date, false, head, id)
		method := "GET"
		if head {
			method = "HEAD"
		}
		res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(got)), &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%q: %v", got, err)
		}
		body, _ := io.ReadAll(res.Body)
		want, _ := http.ReadResponse(bufio.NewReader(bytes.NewReader(a.bytes(&d, date, false, head))), &http.Request{Method: method})
		wantBody, _ := io.ReadAll(want.Body)
		if res.Header.Get("X-Request-Id") != string(id) || !bytes.Equal(body, wantBody) || res.StatusCode != 429 {
			t.Errorf("head %v: %q", head, got)
		}
		res.Header.Del("X-Request-Id")
		for k := range want.Header {
			if res.Header.Get(k) != want.Header.Get(k) {
				t.Errorf("head %v: %s %q, want %q", head, k, res.Header.Get(k), want.Header.Get(k))
			}
		}
	}
	var none ratelimit.Decision
	if b := a.appendWithID([]byte("x"), &none, date, false, false, []byte("id")); string(b) != "x" {
		t.Errorf("an admitted request's answer: %q", b)
	}
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() {
		id := clientip.AppendRequestID(buf[:0])
		_ = a.appendWithID(buf[len(id):len(id)], &d, date, false, false, id)
	}); n != 0 {
		t.Errorf("%v allocations per answer, want 0", n)
	}
}

// BenchmarkAnswerWithID is the front's refusal answer with a fresh id:
// the cost an id adds to BenchmarkFrontRefusal.
func BenchmarkAnswerWithID(b *testing.B) {
	h := newDecider(b, `
limits:
  default: {rate: 1/s, burst: 1}
`)
	h.req(0, "192.0.2.1", "default")
	d := h.req(0, "192.0.2.1", "default")
	date := []byte(time.Now().UTC().Format(http.TimeFormat))
	var a answers
	buf := make([]byte, 0, 512)
	b.Run("shared", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = append(buf[:0], a.bytes(&d, date, false, false)...)
		}
	})
	b.Run("with_id", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			id := clientip.AppendRequestID(buf[:0])
			_ = a.appendWithID(buf[len(id):len(id)], &d, date, false, false, id)
		}
	})
}

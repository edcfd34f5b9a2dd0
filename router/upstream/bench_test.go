package upstream

import (
	"bufio"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"
)

// benchBackend answers every GET with a fixed 64-byte body, as cheaply as
// it can, so the client side dominates the profile.
func benchBackend(b *testing.B) *rawServer {
	resp := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n\r\n" + strings.Repeat("x", 64)
	return newRawServer(b, func(_ int, c net.Conn) {
		br := bufio.NewReaderSize(c, 4096)
		for {
			for { // skip the head up to its empty line
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) <= 2 {
					break
				}
			}
			if _, err := io.WriteString(c, resp); err != nil {
				return
			}
		}
	})
}

// stdTransport is the tuned net/http transport the router uses today.
func stdTransport() *http.Transport {
	d := &net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           d.DialContext,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		WriteBufferSize:       16 << 10,
		ReadBufferSize:        16 << 10,
	}
}

type closeIdler interface {
	http.RoundTripper
	CloseIdleConnections()
}

func benchTransports() []struct {
	name string
	make func() closeIdler
} {
	return []struct {
		name string
		make func() closeIdler
	}{
		{"upstream", func() closeIdler { return New(Options{}) }},
		{"std", func() closeIdler { return stdTransport() }},
	}
}

// BenchmarkRoundTrip compares this transport with a tuned http.Transport
// against the same local backend: RoundTrip alone, and under
// httputil.ReverseProxy as the router uses it. Requests carry a cancelable
// context, as server requests do.
func BenchmarkRoundTrip(b *testing.B) {
	srv := benchBackend(b)
	for _, tt := range benchTransports() {
		b.Run("direct/"+tt.name, func(b *testing.B) {
			tr := tt.make()
			defer tr.CloseIdleConnections()
			b.ReportAllocs()
			b.SetParallelism(4)
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL()+"/bench", nil)
				for pb.Next() {
					resp, err := tr.RoundTrip(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
	u, _ := url.Parse(srv.URL())
	for _, tt := range benchTransports() {
		b.Run("proxy/"+tt.name, func(b *testing.B) {
			tr := tt.make()
			defer tr.CloseIdleConnections()
			rp := &httputil.ReverseProxy{
				Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
				Transport:  tr,
				BufferPool: newBenchBufferPool(),
				ErrorLog:   log.New(io.Discard, "", 0),
			}
			b.ReportAllocs()
			b.SetParallelism(4)
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				req := httptest.NewRequest("GET", "http://front.test/bench", nil).WithContext(ctx)
				w := &discardWriter{h: http.Header{}}
				for pb.Next() {
					clear(w.h)
					w.code = 0
					rp.ServeHTTP(w, req)
					if w.code != http.StatusOK {
						b.Errorf("status %d", w.code)
						return
					}
				}
			})
		})
	}
}

// reportCPU reports the process's CPU time (user and system, backend
// included) per operation: on a shared machine wall time per operation
// says more about the neighbours than about the transport.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	b.ResetTimer()
	return func() {
		b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}

// benchBufferPool lends 32 KiB copy buffers, as the router's proxy does.
type benchBufferPool struct{ ch chan []byte }

func newBenchBufferPool() *benchBufferPool { return &benchBufferPool{ch: make(chan []byte, 64)} }

func (p *benchBufferPool) Get() []byte {
	select {
	case b := <-p.ch:
		return b
	default:
		return make([]byte, 32<<10)
	}
}

func (p *benchBufferPool) Put(b []byte) {
	select {
	case p.ch <- b:
	default:
	}
}

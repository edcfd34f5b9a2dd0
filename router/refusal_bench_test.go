package router

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"github.com/bulwark-router/bulwark/router/front"
	"github.com/bulwark-router/bulwark/stats"
)

// nullWriter is a reusable ResponseWriter, so the benchmark counts the
// router's own allocations on the refusal path.
type nullWriter struct{ h http.Header }

func (d *nullWriter) Header() http.Header         { return d.h }
func (d *nullWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *nullWriter) WriteHeader(int)             {}

func newRefusalRouter(tb testing.TB, extra string) *Router {
	cfg, err := config.Load([]byte(`
log: {access: false}
backends:
  app: {targets: ["http://127.0.0.1:9"]}
routes:
  - {match: {path_prefix: /limited}, backend: app, limit: tight}
  - {backend: app}
limits:
  tight: {rate: 1/h, burst: 1}
` + extra))
	if err != nil {
		tb.Fatal(err)
	}
	rt, err := New(cfg, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close() })
	return rt
}

// BenchmarkRefusalPath measures answers the router makes itself: a denied
// client (403) and a rate-limited one (429), in process.
func BenchmarkRefusalPath(b *testing.B) {
	for _, tc := range []struct{ name, extra, path string }{
		{"denied", "abuse: {deny: [192.0.2.0/24]}\n", "/"},
		{"rate_limited", "", "/limited"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rt := newRefusalRouter(b, tc.extra)
			req, _ := http.NewRequest("GET", "http://x"+tc.path, nil)
			req.RemoteAddr = "192.0.2.1:1234"
			w := &nullWriter{h: http.Header{}}
			rt.ServeHTTP(w, req) // spend the burst
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				clear(w.h)
				rt.ServeHTTP(w, req)
			}
		})
	}
}

// replayConn is a connection whose peer sends the same request n times and
// then closes; what the router writes back is counted and dropped.
type replayConn struct {
	net.Conn // nil: only the methods below are used
	req      []byte
	n        int
	written  int
}

func (c *replayConn) Read(p []byte) (int, error) {
	if c.n == 0 {
		return 0, io.EOF
	}
	c.n--
	return copy(p, c.req), nil
}

func (c *replayConn) Write(p []byte) (int, error) { c.written++; return len(p), nil }
func (c *replayConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234}
}
func (c *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(time.Time) error { return nil }

// oneConn is a listener whose Accept returns its connection.
type oneConn struct{ c net.Conn }

func (l oneConn) Accept() (net.Conn, error) { return l.c, nil }
func (oneConn) Close() error                { return nil }
func (oneConn) Addr() net.Addr              { return &net.TCPAddr{} }

// BenchmarkFrontRefusal measures the connection front's refusals, in
// process: a head read, parsed, decided and answered, per op.
//
// The browser case sends a browser's head (550 bytes, eleven fields), as
// a flood from browsers or bots that pass for them does.
func BenchmarkFrontRefusal(b *testing.B) {
	const short = "Host: bench.example\r\nUser-Agent: wrk\r\nAccept: */*\r\n"
	for _, tc := range []struct{ name, extra, path, fields string }{
		{"denied", "abuse: {deny: [192.0.2.0/24]}\n", "/", short},
		{"rate_limited", "", "/limited", short},
		{"rate_limited_browser", "", "/limited", testutil.BrowserFields},
	} {
		b.Run(tc.name, func(b *testing.B) {
			replayRefusals(b, newRefusalRouter(b, tc.extra), tc.path, tc.fields)
		})
	}
}

// BenchmarkFrontRefusalReporting is BenchmarkFrontRefusal's rate-limited
// case with bench/proxy.sh's route table and every sink on: statsd to a
// local UDP socket, Prometheus, and the access log (sampled as by default,
// JSON to io.Discard).
//
//	go test -run '^$' -bench FrontRefusalReporting -count 5 ./router
func BenchmarkFrontRefusalReporting(b *testing.B) {
	cfg, err := config.Load([]byte(`
backends:
  browserid: {targets: ["http://127.0.0.1:9"], breaker: {consecutive_failures: 5}}
  static: {targets: ["http://127.0.0.1:9"], breaker: {consecutive_failures: 5}}
routes:
  - {match: {path: /verify, methods: [POST]}, backend: browserid, stats: {name: verify}}
  - {match: {path_prefix: /wsapi/}, backend: browserid, stats: {name: wsapi, per_api: true}}
  - {match: {path_prefix: /limited/}, backend: static, limit: tiny, stats: {name: limited}}
  - {match: {path_prefix: /i18n/}, backend: static, stats: {name: i18n}}
  - {backend: static, stats: {name: static}}
limits:
  default: {rate: 10000000/s, burst: 10000000}
  tiny: {rate: 1/m, burst: 1}
log: {level: info, access: true}
`))
	if err != nil {
		b.Fatal(err)
	}
	st := benchReporting(b)
	log, err := stats.NewLogger(stats.LogOptions{Level: "info", Sample: stats.SampleOptions{Initial: 100, Thereafter: 100}}, zapcore.AddSync(io.Discard), st.LogDropped)
	if err != nil {
		b.Fatal(err)
	}
	rt, err := New(cfg, Options{Logger: log, Recorder: st, AccessSampler: stats.NewLineSampler(stats.SampleOptions{Initial: 100, Thereafter: 100}, st.LogDropped)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close() })
	replayRefusals(b, rt, "/limited/x", "Host: 127.0.0.1:19181\r\n")
}

// replayRefusals has the front of rt answer b.N requests for path with the
// given fields from 192.0.2.1, whose token (if path has a limit) it spends
// first, and fails unless each was answered.
func replayRefusals(b *testing.B, rt *Router, path, fields string) {
	b.Helper()
	req := []byte("GET " + path + " HTTP/1.1\r\n" + fields + "\r\n")
	rt.adm.Admit(time.Now(), netip.MustParseAddr("192.0.2.1"), rt.table.Load().route("GET", "x", path).limit)
	rc := &replayConn{req: req, n: b.N}
	fc, err := front.NewListener(oneConn{rc}, (*frontDecider)(rt), front.Timeouts{}).Accept()
	if err != nil {
		b.Fatal(err)
	}
	p := make([]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := fc.Read(p); err != io.EOF {
		b.Fatalf("Read: %v", err)
	}
	if rc.written != b.N {
		b.Fatalf("%d answers to %d requests", rc.written, b.N)
	}
}

// A refusal by the front allocates nothing: neither the front nor the
// router's checks before admission (checkIn), which it shares with
// ServeHTTP. (The end of a Read in EOF allocates once: isTimeout's
// errors.As.)
func TestFrontRefusalAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	rt := newRefusalRouter(t, "")
	rt.adm.Admit(time.Now(), netip.MustParseAddr("192.0.2.1"), rt.table.Load().route("GET", "x", "/limited").limit)
	rc := &replayConn{req: []byte("GET /limited HTTP/1.1\r\n" + testutil.BrowserFields + "\r\n")}
	fc, err := front.NewListener(oneConn{rc}, (*frontDecider)(rt), front.Timeouts{}).Accept()
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 4096)
	const perRead = 100
	allocs := testing.AllocsPerRun(20, func() {
		rc.n = perRead
		if _, err := fc.Read(p); err != io.EOF {
			t.Fatalf("Read: %v", err)
		}
	})
	if rc.written != 21*perRead {
		t.Fatalf("%d answers to %d requests", rc.written, 21*perRead)
	}
	if allocs > 1 {
		t.Fatalf("%v allocations per %d refusals", allocs, perRead)
	}
}

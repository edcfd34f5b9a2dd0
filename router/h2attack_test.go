package router

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Attacker is one hostile HTTP/2 connection written frame by frame with
// x/net/http2's Framer.
type h2Attacker struct {
	c      net.Conn
	fr     *http2.Framer
	block  []byte // a GET's header block
	goAway atomic.Uint32
	gotGo  atomic.Bool
	done   chan struct{} // closed when the router has closed the connection
}

// dialAttacker opens an HTTP/2 connection from local (a loopback address)
// to addr, over TLS when tlsOn, and starts reading what the router sends.
func dialAttacker(t testing.TB, local, addr string, tlsOn bool) *h2Attacker {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if tlsOn {
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		c = tc
	}
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	a := &h2Attacker{c: c, fr: http2.NewFramer(c, c), done: make(chan struct{})}
	a.block = headerBlock("")
	a.fr.WriteSettings()
	go a.read()
	t.Cleanup(func() { c.Close(); <-a.done })
	return a
}

// headerBlock is a GET's header block, with X-Forwarded-For: fwd unless
// fwd is empty.
func headerBlock(fwd string) []byte {
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	fields := [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "x"}, {":path", "/x"}}
	if fwd != "" {
		fields = append(fields, [2]string{"x-forwarded-for", fwd})
	}
	for _, f := range fields {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	return hb.Bytes()
}

// read reads frames until the connection ends, noting a GOAWAY.
func (a *h2Attacker) read() {
	defer close(a.done)
	rf := http2.NewFramer(io.Discard, a.c)
	for {
		f, err := rf.ReadFrame()
		if err != nil {
			return
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			a.goAway.Store(uint32(g.ErrCode))
			a.gotGo.Store(true)
		}
	}
}

// closed reports whether the router has closed the connection.
func (a *h2Attacker) closed() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// run writes frames with step (given a stream id) until the router sends
// GOAWAY or closes the connection, a write fails or max steps; it returns
// the steps sent.
func (a *h2Attacker) run(max int, step func(id uint32) error) int {
	a.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for i := range max {
		if a.gotGo.Load() || a.closed() || step(uint32(2*i+1)) != nil {
			return i
		}
	}
	return max
}

func (a *h2Attacker) rapidReset(id uint32) error {
	if err := a.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: a.block, EndStream: true, EndHeaders: true}); err != nil {
		return err
	}
	return a.fr.WriteRSTStream(id, http2.ErrCodeCancel)
}

// legit runs HTTP/2 and HTTP/1.1 clients against url until stop, counting
// their requests and failures.
type legit struct {
	ok, failed atomic.Int64
	wg         sync.WaitGroup
}

func runLegit(t *testing.T, stop <-chan struct{}, clients ...*http.Client) *legit {
	l := &legit{}
	for _, c := range clients {
		for range 2 {
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					resp, err := c.Get(legitURL(c))
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					if err != nil || resp.StatusCode != 200 {
						l.failed.Add(1)
						if n := l.failed.Load(); n < 5 {
							t.Logf("legit request failed: %v %v", err, resp)
						}
						continue
					}
					l.ok.Add(1)
				}
			}()
		}
	}
	return l
}

// legitURLs maps each legitimate client to the URL it asks.
var legitURLs sync.Map

func legitURL(c *http.Client) string { u, _ := legitURLs.Load(c); return u.(string) }

// usage is the process's CPU time and the Go heap in use now.
func usage() (cpu time.Duration, heap uint64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ms.HeapInuse
}

// attackRouter serves h2c or TLS with abuse.ban after 1 strike, with
// 127.0.0.3 a trusted proxy. It returns the server and its h2c twin.
func attackRouter(t *testing.T, be string, tlsOn bool) (*Server, *http.Client, *http.Client) {
	t.Helper()
	extra := "client_ip: {trusted_proxies: [127.0.0.3/32]}\nabuse: {ban: {after_rejections: 1}}\nlimits:\n  default: {rate: 100000/s, burst: 100000}\n"
	var srv *Server
	var h1, h2 *http.Client
	if tlsOn {
		cert := newTestCert(t, t.TempDir(), "server", nil)
		srv = startTLSRouter(t, tlsYAML(be, fmt.Sprintf("{cert_file: %s, key_file: %s}", cert.certFile, cert.keyF), extra), time.Hour)
		h1, h2 = h1Client(t, pool(cert)), h2Client(t, pool(cert))
		base := "https://" + srv.Addr().String() + "/x"
		legitURLs.Store(h1, base)
		legitURLs.Store(h2, base)
	} else {
		srv, _ = startRouter(t, fmt.Sprintf("server: {h2c: true}\nbackends:\n  app: {targets: [%s]}\nroutes:\n  - {backend: app}\nlog: {access: false}\n%s", be, extra))
		h1, h2 = &http.Client{Timeout: 10 * time.Second}, h2cClient(t)
		base := "http://" + srv.Addr().String() + "/x"
		legitURLs.Store(h1, base)
		legitURLs.Store(h2, base)
	}
	return srv, h1, h2
}

// attack runs each attacker's frames from local against srv while legit
// clients ask, and checks that every attacker was closed with GOAWAY
// ENHANCE_YOUR_CALM, counted as kind, and that the legit clients kept
// ≥ 99.5% success.
func attack(t *testing.T, srv *Server, tlsOn bool, local string, conns int, kind h2Kind, clients []*http.Client,
	step func(a *h2Attacker, id uint32) error) {
	t.Helper()
	rt := srv.Router()
	before := rt.H2Abuse()[kind]
	stop := make(chan struct{})
	l := runLegit(t, stop, clients...)
	cpu0, heap0 := usage()
	start := time.Now()
	var sent atomic.Int64
	var wg sync.WaitGroup
	attackers := make([]*h2Attacker, conns)
	for i := range attackers {
		attackers[i] = dialAttacker(t, local, srv.Addr().String(), tlsOn)
	}
	for _, a := range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent.Add(int64(a.run(1_000_000, func(id uint32) error { return step(a, id) })))
		}()
	}
	wg.Wait()
	// A connection the router has not got through yet (its frames still in
	// the socket's buffers on a loaded machine) is closed once it has.
	closeBy := time.After(30 * time.Second)
	for _, a := range attackers {
		select {
		case <-a.done:
		case <-closeBy:
			t.Fatalf("an attacker's connection is still open (GOAWAY %v %v, counted %d)", a.gotGo.Load(), http2.ErrCode(a.goAway.Load()), rt.H2Abuse()[kind]-before)
		}
		if !a.gotGo.Load() || http2.ErrCode(a.goAway.Load()) != http2.ErrCodeEnhanceYourCalm {
			t.Errorf("attacker closed without GOAWAY ENHANCE_YOUR_CALM (got %v: %v)", a.gotGo.Load(), http2.ErrCode(a.goAway.Load()))
		}
	}
	// The legit clients go on a little past the attack.
	time.Sleep(100 * time.Millisecond)
	close(stop)
	l.wg.Wait()
	elapsed := time.Since(start)
	cpu1, heap1 := usage()
	if got := rt.H2Abuse()[kind] - before; got != uint64(conns) {
		t.Errorf("%s counted %d times, want %d", kind, got, conns)
	}
	ok, failed := l.ok.Load(), l.failed.Load()
	if total := ok + failed; total == 0 || float64(ok) < 0.995*float64(total) {
		t.Errorf("legit clients: %d of %d succeeded", ok, total)
	}
	t.Logf("%s from %d conns: %d attack steps sent before GOAWAY; legit %d ok, %d failed; %v, process CPU %v, heap in use %d→%d KiB",
		kind, conns, sent.Load(), ok, failed, elapsed.Round(time.Millisecond), (cpu1 - cpu0).Round(time.Millisecond), heap0>>10, heap1>>10)
}

// banned reports whether client is banned.
func banned(srv *Server, client string) bool {
	for _, b := range srv.Router().Admission().Bans() {
		if b.Client == netip.MustParseAddr(client) {
			return true
		}
	}
	return false
}

func TestH2RapidReset(t *testing.T) {
	be := protoBackend(t)
	for _, tc := range []struct {
		tls   bool
		conns int
	}{{false, 1}, {false, 50}, {true, 1}, {true, 50}} {
		t.Run(fmt.Sprintf("tls=%v/conns=%d", tc.tls, tc.conns), func(t *testing.T) {
			if tc.tls && raceEnabled {
				// Under the race detector the record layer is so slow that
				// the router takes in fewer resets a second than the bound.
				t.Skip("TLS attack runs without -race")
			}
			srv, h1, h2 := attackRouter(t, be.URL, tc.tls)
			attack(t, srv, tc.tls, "127.0.0.2", tc.conns, h2RapidReset, []*http.Client{h1, h2}, (*h2Attacker).rapidReset)
			if !banned(srv, "127.0.0.2") || banned(srv, "127.0.0.1") {
				t.Errorf("bans: %+v, want 127.0.0.2's only", srv.Router().Admission().Bans())
			}
		})
	}
}

func TestH2ContinuationFlood(t *testing.T) {
	be := protoBackend(t)
	srv, h1, h2 := attackRouter(t, be.URL, false)
	attack(t, srv, false, "127.0.0.2", 1, h2Continuation, []*http.Client{h1, h2}, func(a *h2Attacker, id uint32) error {
		if id == 1 {
			return a.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: a.block[:2], EndStream: true})
		}
		return a.fr.WriteContinuation(1, false, []byte("x"))
	})
}

func TestH2SettingsFlood(t *testing.T) {
	be := protoBackend(t)
	srv, h1, h2 := attackRouter(t, be.URL, false)
	attack(t, srv, false, "127.0.0.2", 1, h2SettingsFlood, []*http.Client{h1, h2}, func(a *h2Attacker, id uint32) error {
		return a.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	})
}

func TestH2PingFlood(t *testing.T) {
	be := protoBackend(t)
	srv, h1, h2 := attackRouter(t, be.URL, false)
	attack(t, srv, false, "127.0.0.2", 1, h2PingFlood, []*http.Client{h1, h2}, func(a *h2Attacker, id uint32) error {
		return a.fr.WritePing(false, [8]byte{})
	})
}

func TestH2EmptyFrames(t *testing.T) {
	be := protoBackend(t)
	srv, h1, h2 := attackRouter(t, be.URL, false)
	attack(t, srv, false, "127.0.0.2", 1, h2EmptyFrames, []*http.Client{h1, h2}, func(a *h2Attacker, id uint32) error {
		if id == 1 {
			return a.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: a.block, EndHeaders: true})
		}
		return a.fr.WriteData(1, false, nil)
	})
}

// Behind a trusted proxy the connection carries many clients: it is closed
// and counted, but the proxy's address is never struck.
func TestH2AbuseFromATrustedProxyStrikesNoAddress(t *testing.T) {
	be := protoBackend(t)
	srv, h1, h2 := attackRouter(t, be.URL, false)
	for range 5 {
		attack(t, srv, false, "127.0.0.3", 1, h2RapidReset, []*http.Client{h1, h2}, (*h2Attacker).rapidReset)
	}
	if banned(srv, "127.0.0.3") {
		t.Error("the trusted proxy was banned")
	}
}

// A trusted proxy's streams carry their clients' X-Forwarded-For: the
// client whose streams were reset is struck (banned after one strike
// here), not the proxy.
func TestH2RapidResetBehindATrustedProxyStrikesTheStreamsClient(t *testing.T) {
	be := protoBackend(t)
	srv, h1, h2 := attackRouter(t, be.URL, false)
	attack(t, srv, false, "127.0.0.3", 1, h2RapidReset, []*http.Client{h1, h2}, func(a *h2Attacker, id uint32) error {
		if id == 1 {
			a.block = headerBlock("203.0.113.7")
		}
		return a.rapidReset(id)
	})
	if !banned(srv, "203.0.113.7") || banned(srv, "127.0.0.3") || banned(srv, "127.0.0.1") {
		t.Errorf("bans: %+v, want 203.0.113.7's only", srv.Router().Admission().Bans())
	}
}

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowBodyConfig is one bulwark in front of an app that takes 8 requests at
// a time and queues a few more briefly; bodies are read with the defaults
// (body_buffer 64KiB, min_body_rate 1KiB/s).
const slowBodyConfig = `listen: %s
admin: {listen: %s}
log: {level: error, access: false}
backends:
  app:
    targets: [%s]
    max_in_flight: 8
    queue: {max_len: 64, max_wait: 100ms}
routes: [{backend: app}]
`

const (
	slowBodyAttackers = 20
	slowBodyLegit     = 20
	slowBodyLegitPace = 200 * time.Millisecond
	slowBodyWindow    = 8 * time.Second
	slowBodyWantPct   = 99.5
)

// slowBodyApp is the app: it reads the body and answers after a little
// work, so a request holds its slot for a moment.
func slowBodyApp(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(2 * time.Millisecond) // the app's work
		io.WriteString(w, "ok\n")
	}))
	t.Cleanup(s.Close)
	return s
}

// legitLoad is slowBodyLegit clients, each from its own loopback address
// from 127.0.0.(first), sending a GET every slowBodyLegitPace on a
// keep-alive connection until ctx ends.
type legitLoad struct {
	wg         sync.WaitGroup
	sent, good atomic.Int64
	mu         sync.Mutex
	bad        map[string]int // what went wrong, by kind
}

func startLegit(ctx context.Context, url string, first int) *legitLoad {
	l := &legitLoad{bad: map[string]int{}}
	for i := range slowBodyLegit {
		tr := &http.Transport{
			DialContext: (&net.Dialer{
				LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(first+i))},
				Timeout:   2 * time.Second,
			}).DialContext,
		}
		c := &http.Client{Transport: tr, Timeout: 3 * time.Second}
		l.wg.Go(func() {
			defer tr.CloseIdleConnections()
			tk := time.NewTicker(slowBodyLegitPace)
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tk.C:
				}
				l.sent.Add(1)
				resp, err := c.Get(url)
				if err != nil {
					l.note("error")
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					l.note(strconv.Itoa(resp.StatusCode))
					continue
				}
				l.good.Add(1)
			}
		})
	}
	return l
}

func (l *legitLoad) note(kind string) {
	l.mu.Lock()
	l.bad[kind]++
	l.mu.Unlock()
}

// check waits for the clients and fails unless slowBodyWantPct of their
// requests got 200.
func (l *legitLoad) check(t *testing.T) {
	t.Helper()
	l.wg.Wait()
	sent, good := l.sent.Load(), l.good.Load()
	pct := 100 * float64(good) / float64(max(sent, 1))
	l.mu.Lock()
	t.Logf("legitimate clients: %d requests, %d served (%.2f%%), failures by kind %v", sent, good, pct, l.bad)
	l.mu.Unlock()
	if sent < int64(slowBodyLegit)*int64(slowBodyWindow/slowBodyLegitPace)/2 {
		t.Errorf("the legitimate clients sent only %d requests", sent)
	}
	if pct < slowBodyWantPct {
		t.Errorf("legitimate clients: %.2f%% served, want >= %.1f%%", pct, slowBodyWantPct)
	}
}

// rudy is one R.U.D.Y. attacker on its own loopback address: a POST head
// announcing 100 kB, then one byte every 2 s; when the router answers or
// closes, it starts again on a new connection, until ctx ends. It counts
// the answers it got by status.
func rudy(ctx context.Context, addr string, ip net.IP, answers *sync.Map) {
	const head = "POST /upload HTTP/1.1\r\nHost: app\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 2 * time.Second}
	buf := make([]byte, 512)
	for ctx.Err() == nil {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			time.Sleep(10 * time.Millisecond) // the attacker's pace after a failed dial
			continue
		}
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		_, err = io.WriteString(conn, head)
		for err == nil {
			conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			var n int
			n, err = conn.Read(buf)
			if n > 0 {
				status := "other"
				if f := bytes.Fields(buf[:n]); len(f) > 1 {
					status = string(f[1])
				}
				v, _ := answers.LoadOrStore(status, new(atomic.Int64))
				v.(*atomic.Int64).Add(1)
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				_, err = conn.Write([]byte("a"))
			}
		}
		stop()
		conn.Close()
	}
}

// TestSlowBodiesDoNotTakeTheServiceDown: 20 R.U.D.Y. attackers from 20
// addresses hold as many connections as they like, each trickling a body
// at half a byte a second; 20 legitimate clients from 20 other addresses
// keep getting answers, because a body is read before its request may take
// one of the app's 8 slots, and min_body_rate ends each attacker's request
// after a second.
func TestSlowBodiesDoNotTakeTheServiceDown(t *testing.T) {
	app := slowBodyApp(t)
	addr, admin := testutil.FreeAddr(t), testutil.FreeAddr(t)
	startBulwark(t, "slowbody", addr, fmt.Sprintf(slowBodyConfig, addr, admin, app.URL))

	ctx, stop := context.WithTimeout(context.Background(), slowBodyWindow+time.Second)
	defer stop()
	var answers sync.Map
	var attackers sync.WaitGroup
	for i := range slowBodyAttackers {
		ip := net.IPv4(127, 0, 0, byte(2+i))
		attackers.Go(func() { rudy(ctx, addr, ip, &answers) })
	}
	// The users come once the attack holds its connections.
	mc := &http.Client{Timeout: 2 * time.Second}
	defer mc.CloseIdleConnections()
	eventually(t, 5*time.Second, 10*time.Millisecond, "the attackers' requests never reached the router", func() bool {
		n, err := metricValue(mc, "http://"+admin+"/metrics", "bulwark_in_flight_requests")
		return err == nil && n >= slowBodyAttackers/2
	})
	lctx, lstop := context.WithTimeout(context.Background(), slowBodyWindow)
	defer lstop()
	legit := startLegit(lctx, "http://"+addr+"/", 2+slowBodyAttackers)
	legit.check(t)
	stop()
	attackers.Wait()

	got := map[string]int64{}
	answers.Range(func(k, v any) bool { got[k.(string)] = v.(*atomic.Int64).Load(); return true })
	t.Logf("attackers' answers by status: %v", got)
	slow, err := metricValue(mc, "http://"+admin+"/metrics", "bulwark_rejections_total", `reason="slow_body"`)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("router: slow_body rejections %.0f", slow)
	if got["408"] == 0 || slow == 0 {
		t.Errorf("no attacker was answered 408 (answers %v, slow_body %v)", got, slow)
	}
}

// TestSlowBodiesWithSlowhttptest: slowhttptest in slow-body mode
// (R.U.D.Y.: 200 connections from 127.0.0.1 announcing 8 KiB and sending
// a few bytes a second) against bulwark, while 20 legitimate clients from
// other addresses keep being served.
func TestSlowBodiesWithSlowhttptest(t *testing.T) {
	tool := slowhttptest(t)
	app := slowBodyApp(t)
	addr, admin := testutil.FreeAddr(t), testutil.FreeAddr(t)
	startBulwark(t, "slowbody-tool", addr, fmt.Sprintf(slowBodyConfig, addr, admin, app.URL))

	// slowhttptest stops early once every one of its connections is closed;
	// it is started again until the attack has lasted slowBodyWindow.
	start := time.Now()
	runs := 0
	attack := func() *proc {
		runs++
		left := max(1, int((slowBodyWindow-time.Since(start)+time.Second-1)/time.Second))
		return startProc(t, fmt.Sprintf("slowhttptest -B run %d", runs), tool, "-B",
			"-c", "200", "-r", "100", "-i", "1", "-s", "8192", "-x", "10",
			"-l", strconv.Itoa(left), "-p", "3", "-u", "http://"+addr+"/")
	}
	current := attack()
	lctx, lstop := context.WithTimeout(context.Background(), slowBodyWindow)
	defer lstop()
	legit := startLegit(lctx, "http://"+addr+"/", 2)
	limit := time.After(slowBodyWindow + 10*time.Second)
run:
	for {
		select {
		case <-current.done:
			if time.Since(start) >= slowBodyWindow {
				break run
			}
			current = attack()
		case <-limit:
			t.Errorf("slowhttptest still running %v after the window", 10*time.Second)
			break run
		}
	}
	legit.check(t)

	mc := &http.Client{Timeout: 2 * time.Second}
	defer mc.CloseIdleConnections()
	slow, err := metricValue(mc, "http://"+admin+"/metrics", "bulwark_rejections_total", `reason="slow_body"`)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("router: slow_body rejections %.0f; slowhttptest ran %d times", slow, runs)
	t.Logf("last slowhttptest run (tail):\n%s", current.out.tail(600))
	if slow == 0 {
		t.Error("no slow body was refused: did slowhttptest attack?")
	}
}

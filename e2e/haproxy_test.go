package e2e

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// haproxyConfig fronts two bulwark routers. Its health check is the
// composite /__heartbeat__; a connection refused, an empty answer or a
// timeout is retried on the other router.
const haproxyConfig = `global
    stats socket %[1]s mode 600 level admin
    maxconn 2000

defaults
    mode http
    timeout connect 200ms
    timeout client 10s
    timeout server 5s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend fe
    bind %[2]s
    default_backend routers

backend routers
    balance roundrobin
    option httpchk GET /__heartbeat__
    http-check expect status 200
    server ra %[3]s check inter 200ms fall 2 rise 2
    server rb %[4]s check inter 200ms fall 2 rise 2
`

// routerConfig is one bulwark in front of one testbackend whose health path
// is critical. The active checks are slow (interval 5s, fall 3) so that
// HAProxy, reading the composite heartbeat, takes the router out first.
const routerConfig = `listen: %s
admin: {listen: ""}
server: {shutdown_grace: 5s}
log: {access: false}
health: {cache_ttl: 100ms}
backends:
  app:
    targets: [http://%s]
    health: {path: /__heartbeat__, critical: true, interval: 5s}
    breaker: {open_for: 500ms}
routes: [{backend: app}]
`

func haproxyPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/haproxy"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	testutil.SkipOrFail(t, "haproxy not installed (/usr/sbin/haproxy)")
	return ""
}

// TestHAProxyFailoverAndDrain puts HAProxy in front of two bulwark routers,
// each in front of its own testbackend. Breaking router A's critical backend
// (its "database") turns A's /__heartbeat__ to 503 and HAProxy takes A out;
// repairing it brings A back. Then A is drained with SIGTERM. Clients
// sending through HAProxy the whole time see no failed request, and A exits
// 0.
func TestHAProxyFailoverAndDrain(t *testing.T) {
	hp := haproxyPath(t)
	dir := t.TempDir()
	failA := filepath.Join(dir, "a.fail")
	tbA, tbB := testutil.FreeAddr(t), testutil.FreeAddr(t)
	startBackend(t, "A", tbA, failA)
	startBackend(t, "B", tbB, filepath.Join(dir, "b.fail"))
	ra, rb := testutil.FreeAddr(t), testutil.FreeAddr(t)
	routerA := startBulwark(t, "A", ra, fmt.Sprintf(routerConfig, ra, tbA))
	startBulwark(t, "B", rb, fmt.Sprintf(routerConfig, rb, tbB))

	front, sock := testutil.FreeAddr(t), filepath.Join(dir, "haproxy.sock")
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(haproxyConfig, sock, front, ra, rb)), 0o600); err != nil {
		t.Fatal(err)
	}
	haproxy := startProc(t, "haproxy", hp, "-f", cfg, "-db")
	waitState := func(server, want string, limit time.Duration) time.Duration {
		t.Helper()
		var last string
		return eventually(t, limit, 20*time.Millisecond, fmt.Sprintf("HAProxy never saw %s %s (last %q)", server, want, last), func() bool {
			select {
			case <-haproxy.done:
				t.Fatalf("haproxy exited: %v", haproxy.state)
			default:
			}
			last = serverStatus(sock, server)
			return last == want
		})
	}
	waitState("ra", "UP", 10*time.Second)
	waitState("rb", "UP", 10*time.Second)

	l := startLoad(t, "http://"+front+"/", 4, 2*time.Millisecond, 45*time.Second)
	noFailures := func(step string) {
		t.Helper()
		if f := l.failures(); len(f) > 0 {
			t.Fatalf("%s: %d failed requests through HAProxy, first %v: %s", step, len(f), f[0].at.Format(time.StampMilli), f[0].what)
		}
	}
	eventually(t, 5*time.Second, 10*time.Millisecond, "both routers serve", func() bool {
		return l.count("A") > 50 && l.count("B") > 50
	})

	if err := os.WriteFile(failA, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	down := waitState("ra", "DOWN", 5*time.Second)
	// Once DOWN (and the sessions active at that moment are done), A gets
	// nothing more.
	b := l.count("B")
	eventually(t, 5*time.Second, 10*time.Millisecond, "load stalled", func() bool { return l.count("B") > b+100 })
	a, b := l.count("A"), l.count("B")
	eventually(t, 5*time.Second, 10*time.Millisecond, "load stalled", func() bool { return l.count("B") > b+300 })
	if n := l.count("A"); n != a {
		t.Fatalf("router A got %d requests while DOWN", n-a)
	}
	noFailures("A's backend broken")

	if err := os.Remove(failA); err != nil {
		t.Fatal(err)
	}
	up := waitState("ra", "UP", 15*time.Second)
	a = l.count("A")
	eventually(t, 5*time.Second, 10*time.Millisecond, "no traffic to router A after UP", func() bool { return l.count("A") > a+50 })
	noFailures("A's backend repaired")

	routerA.signal(t, syscall.SIGTERM)
	drained := time.Now()
	code := routerA.wait(t, 10*time.Second)
	exited := time.Since(drained)
	b = l.count("B")
	eventually(t, 5*time.Second, 10*time.Millisecond, "load stalled after the drain", func() bool { return l.count("B") > b+300 })
	l.Stop()
	t.Logf("%d requests through HAProxy; A DOWN %v after its database broke, UP %v after repair; A exited %v after SIGTERM",
		l.total(), down, up, exited)
	noFailures("router A drained")
	if code != 0 {
		t.Fatalf("router A exited %d after SIGTERM, want 0", code)
	}
}

// serverStatus reads one server's status (UP, DOWN, "UP 1/2", ...) from
// HAProxy's stats socket (`show stat` CSV); "" when it can't be read.
func serverStatus(sock, server string) string {
	conn, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return ""
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(conn, "show stat\n"); err != nil {
		return ""
	}
	br := bufio.NewReader(conn)
	head, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "# ") {
		return ""
	}
	cols, err := csv.NewReader(strings.NewReader(head[2:])).Read()
	if err != nil {
		return ""
	}
	idx := map[string]int{}
	for i, c := range cols {
		idx[c] = i
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1
	for {
		rec, err := r.Read()
		if err != nil {
			return ""
		}
		if len(rec) > idx["status"] && rec[idx["pxname"]] == "routers" && rec[idx["svname"]] == server {
			return rec[idx["status"]]
		}
	}
}

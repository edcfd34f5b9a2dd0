package stats

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// etsyVersion is the npm version of Etsy's statsd daemon the test runs.
const etsyVersion = "0.9.0"

// installEtsyStatsd installs Etsy's statsd with npm into a directory the
// test owns under the temp dir, once, and returns the path of stats.js.
func installEtsyStatsd(t *testing.T) (node, script string) {
	t.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		skipOrFail(t, "node or npm not installed: %v %v", errNode, errNpm)
	}
	dir := filepath.Join(os.TempDir(), "bulwark-test-etsy-statsd-"+etsyVersion)
	script = filepath.Join(dir, "node_modules", "statsd", "stats.js")
	if _, err := os.Stat(script); err == nil {
		return node, script
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "bulwark-test-etsy-install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--omit=optional",
		"--ignore-scripts", "--no-save", "--prefix", tmp, "statsd@"+etsyVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		skipOrFail(t, "npm install statsd@%s: %v\n%s", etsyVersion, err, out)
	}
	// Rename is atomic: a concurrent run either wins or finds it installed.
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(script); statErr != nil {
			t.Fatalf("install: %v", err)
		}
	}
	return node, script
}

// freePort returns a port nobody listens on right now.
func freePort(t *testing.T, network string) int {
	t.Helper()
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	default:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
}

// startEtsyStatsd runs the daemon on loopback until the test ends and
// returns its UDP address and its management address.
func startEtsyStatsd(t *testing.T) (udpAddr, mgmtAddr string) {
	t.Helper()
	node, script := installEtsyStatsd(t)
	port, mgmt := freePort(t, "udp"), freePort(t, "tcp")
	cfg := filepath.Join(t.TempDir(), "config.js")
	// No backends and an hour between flushes: counters only accumulate.
	conf := fmt.Sprintf(`{ address: "127.0.0.1", port: %d, mgmt_address: "127.0.0.1", mgmt_port: %d,
  backends: [], flushInterval: 3600000 }`, port, mgmt)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script, cfg)
	cmd.Dir = filepath.Dir(script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	up := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "server is up") {
				close(up)
				break
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-drained
		cmd.Wait()
	})
	select {
	case <-up:
	case <-drained:
		t.Fatalf("statsd exited before it was up: %s", stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("statsd not up after 20s: %s", stderr.String())
	}
	udpAddr, mgmtAddr = fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("127.0.0.1:%d", mgmt)
	waitEtsyReady(t, udpAddr, mgmtAddr)
	return udpAddr, mgmtAddr
}

// waitEtsyReady waits until the daemon counts a probe sent over UDP: it
// logs "server is up" before its sockets are bound, so that line alone does
// not say a datagram sent now would be read.
func waitEtsyReady(t *testing.T, udpAddr, mgmtAddr string) {
	t.Helper()
	c, err := net.Dial("udp", udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for ; time.Now().Before(deadline); <-tick.C {
		c.Write([]byte("probe.up:1|c"))
		m, err := net.DialTimeout("tcp", mgmtAddr, time.Second)
		if err != nil {
			continue
		}
		m.Close()
		if strings.Contains(etsyCommand(t, mgmtAddr, "counters"), "'probe.up'") {
			return
		}
	}
	t.Fatal("statsd did not count a probe within 20s")
}

// etsyCommand sends one management command and returns its answer.
func etsyCommand(t *testing.T, mgmt, command string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", mgmt, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, command+"\n"); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		if sc.Text() == "END" {
			return out.String()
		}
		out.WriteString(sc.Text() + "\n")
	}
	t.Fatalf("%s: no END: %v\n%s", command, sc.Err(), out.String())
	return ""
}

var (
	inspectNumber = regexp.MustCompile(`'([^']+)':\s*([-0-9.eE+]+)`)
	inspectArray  = regexp.MustCompile(`'([^']+)':\s*\[([^\]]*)\]`)
)

// Etsy's statsd, fed through the Recorder, counts exactly what was recorded
// and finds no bad line.
func TestEtsyStatsdEndToEnd(t *testing.T) {
	udpAddr, mgmt := startEtsyStatsd(t)
	s := newStats(t, statsdConfig(udpAddr, ""))
	const rounds = 10
	for range rounds {
		recordMix(s)
		s.UnderAttack(false) // so the next round starts from the same state
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// What the daemon should hold: every counter and every timer value.
	wantCounters := map[string]float64{}
	wantTimers := map[string][]float64{}
	for range rounds {
		for _, line := range append(mixLines("bulwark"), "bulwark.attack.stop:1|c") {
			name, rest, _ := strings.Cut(line, ":")
			value, kind, _ := strings.Cut(rest, "|")
			v, _ := strconv.ParseFloat(value, 64)
			if kind == "ms" {
				wantTimers[name] = append(wantTimers[name], v)
			} else {
				wantCounters[name] += v
			}
		}
	}

	// UDP datagrams are already in the daemon's socket; it reads them on
	// its own schedule, so ask until the request count is complete.
	var counters map[string]float64
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		counters = map[string]float64{}
		for _, m := range inspectNumber.FindAllStringSubmatch(etsyCommand(t, mgmt, "counters"), -1) {
			counters[m[1]], _ = strconv.ParseFloat(m[2], 64)
		}
		if counters["bulwark.request"] >= wantCounters["bulwark.request"] || time.Now().After(deadline) {
			break
		}
		<-tick.C
	}
	if bad := counters["statsd.bad_lines_seen"]; bad != 0 {
		t.Errorf("statsd saw %v bad lines", bad)
	}
	got := map[string]float64{}
	for k, v := range counters {
		if strings.HasPrefix(k, "bulwark.") {
			got[k] = v
		}
	}
	if !maps.Equal(got, wantCounters) {
		t.Errorf("counters:\n got %v\nwant %v", got, wantCounters)
	}

	gotTimers := map[string][]float64{}
	for _, m := range inspectArray.FindAllStringSubmatch(etsyCommand(t, mgmt, "timers"), -1) {
		if !strings.HasPrefix(m[1], "bulwark.") {
			continue
		}
		for f := range strings.FieldsFuncSeq(m[2], func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatalf("timer %s value %q", m[1], f)
			}
			gotTimers[m[1]] = append(gotTimers[m[1]], v)
		}
	}
	for name, want := range wantTimers {
		g := gotTimers[name]
		slices.Sort(g)
		slices.Sort(want)
		if !slices.Equal(g, want) {
			t.Errorf("timer %s:\n got %v\nwant %v", name, g, want)
		}
	}
	t.Logf("statsd %s holds %d bulwark counters (%v requests) and %d timers, as recorded",
		etsyVersion, len(got), got["bulwark.request"], len(gotTimers))
	if len(gotTimers) != len(wantTimers) {
		t.Errorf("timers %v, want %v", slices.Sorted(maps.Keys(gotTimers)), slices.Sorted(maps.Keys(wantTimers)))
	}
}

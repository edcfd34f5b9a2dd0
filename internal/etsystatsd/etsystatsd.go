// Package etsystatsd runs Etsy's statsd daemon (npm package statsd) for
// tests: installed once with the machine's npm under the temp dir, started
// on free loopback ports, never flushing, killed when the test ends, and
// read back through its management port.
package etsystatsd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Version is the npm version of the daemon the tests run.
const Version = "0.9.0"

// Daemon is one running statsd. Its methods are safe for concurrent use.
type Daemon struct {
	UDPAddr  string // where to send metrics
	MgmtAddr string // the management (admin) TCP port
}

// install installs the daemon once and returns node's path and stats.js's.
func install(t testing.TB) (node, script string) {
	t.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		testutil.SkipOrFail(t, "node or npm not installed: %v %v", errNode, errNpm)
	}
	dir := filepath.Join(os.TempDir(), "bulwark-test-etsy-statsd-"+Version)
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
		"--ignore-scripts", "--no-save", "--prefix", tmp, "statsd@"+Version)
	if out, err := cmd.CombinedOutput(); err != nil {
		testutil.SkipOrFail(t, "npm install statsd@%s: %v\n%s", Version, err, out)
	}
	// Rename is atomic: a concurrent run either wins or finds it installed.
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(script); statErr != nil {
			t.Fatalf("install: %v", err)
		}
	}
	return node, script
}

func freePort(t testing.TB, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs the daemon until the test ends. It has no backends and an hour
// between flushes, so counters only accumulate. It returns once the daemon
// has counted a probe sent over UDP (it logs "server is up" before its
// sockets are bound, so that line alone says nothing).
func Start(t testing.TB) *Daemon {
	t.Helper()
	node, script := install(t)
	port, mgmt := freePort(t, "udp"), freePort(t, "tcp")
	cfg := filepath.Join(t.TempDir(), "config.js")
	conf := fmt.Sprintf(`{ address: "127.0.0.1", port: %d, mgmt_address: "127.0.0.1", mgmt_port: %d,
  backends: [], flushInterval: 3600000 }`, port, mgmt)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script, cfg)
	cmd.Dir = filepath.Dir(script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	d := &Daemon{UDPAddr: fmt.Sprintf("127.0.0.1:%d", port), MgmtAddr: fmt.Sprintf("127.0.0.1:%d", mgmt)}
	c, err := net.Dial("udp", d.UDPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for ; time.Now().Before(deadline); <-tick.C {
		select {
		case <-exited:
			t.Fatalf("statsd exited before it was up: %s", out.String())
		default:
		}
		c.Write([]byte("probe.up:1|c"))
		if got, err := d.Command("counters"); err == nil && strings.Contains(got, "'probe.up'") {
			return d
		}
	}
	t.Fatal("statsd did not count a probe within 20s")
	return nil
}

// Command sends one management command and returns its answer.
func (d *Daemon) Command(command string) (string, error) {
	c, err := net.DialTimeout("tcp", d.MgmtAddr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, command+"\n"); err != nil {
		return "", err
	}
	var out strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		if sc.Text() == "END" {
			return out.String(), nil
		}
		out.WriteString(sc.Text() + "\n")
	}
	return "", fmt.Errorf("%s: no END (%v): %s", command, sc.Err(), out.String())
}

var (
	inspectNumber = regexp.MustCompile(`'([^']+)':\s*([-0-9.eE+]+)`)
	inspectArray  = regexp.MustCompile(`'([^']+)':\s*\[([^\]]*)\]`)
)

// Counters returns every counter the daemon holds (statsd.bad_lines_seen
// among them).
func (d *Daemon) Counters() (map[string]float64, error) {
	text, err := d.Command("counters")
	if err != nil {
		return nil, err
	}
	got := map[string]float64{}
	for _, m := range inspectNumber.FindAllStringSubmatch(text, -1) {
		got[m[1]], _ = strconv.ParseFloat(m[2], 64)
	}
	return got, nil
}

// Timers returns every timer's values.
func (d *Daemon) Timers() (map[string][]float64, error) {
	text, err := d.Command("timers")
	if err != nil {
		return nil, err
	}
	got := map[string][]float64{}
	for _, m := range inspectArray.FindAllStringSubmatch(text, -1) {
		for f := range strings.FieldsFuncSeq(m[2], func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return nil, fmt.Errorf("timer %s: value %q", m[1], f)
			}
			got[m[1]] = append(got[m[1]], v)
		}
		if _, ok := got[m[1]]; !ok {
			got[m[1]] = nil
		}
	}
	return got, nil
}

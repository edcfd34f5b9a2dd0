package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is one bulwark process started from the built binary. Its stderr
// (JSON logs) is collected line by line.
type proc struct {
	cmd    *exec.Cmd
	log    *lineLog
	stdout bytes.Buffer
	done   chan struct{} // closed when the process has exited
	base   string        // http://listen-address
	addr   string        // listen address
	admin  string        // admin address
	cfg    string        // config file path
}

// startProc writes yaml (prefixed with loopback listen and admin addresses
// on free ports) to a file, starts bulwark on it and waits until
// /__lbheartbeat__ answers 200. The process is killed at cleanup if it is
// still running.
func startProc(t *testing.T, yaml string) *proc {
	t.Helper()
	p := &proc{log: newLineLog(), done: make(chan struct{}),
		addr: testutil.FreeAddr(t), admin: testutil.FreeAddr(t)}
	p.base = "http://" + p.addr
	p.cfg = filepath.Join(t.TempDir(), "bulwark.yaml")
	p.writeConfig(t, yaml)

	p.cmd = exec.Command(binPath, "-config", p.cfg)
	p.cmd.Env = procEnv()
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait() // the exit status stays in p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if strings.Contains(p.log.String(), "DATA RACE") {
			t.Errorf("bulwark reported a data race:\n%s", p.log.String())
		}
	})
	p.waitReady(t)
	return p
}

// writeConfig replaces the config file atomically (write, then rename), so
// a reload never reads half a file.
func (p *proc) writeConfig(t *testing.T, yaml string) {
	t.Helper()
	full := fmt.Sprintf("listen: %s\nadmin: {listen: %s}\n%s", p.addr, p.admin, yaml)
	tmp := p.cfg + ".tmp"
	if err := os.WriteFile(tmp, []byte(full), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p.cfg); err != nil {
		t.Fatal(err)
	}
}

// waitReady polls /__lbheartbeat__ until it answers 200, for at most 10 s.
func (p *proc) waitReady(t *testing.T) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := c.Get(p.base + "/__lbheartbeat__")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("bulwark exited before it was ready (%v):\n%s", p.cmd.ProcessState, p.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("bulwark not ready after 10s (last error %v):\n%s", err, p.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits up to d for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("bulwark still running after %v:\n%s", d, p.log.String())
		return -1
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// procEnv is the environment of a bulwark subprocess: the test's, without
// BULWARK_CONFIG, and with no pause at exit for a race-detector build.
func procEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BULWARK_CONFIG=") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	return append(env, "GORACE=atexit_sleep_ms=0")
}

// lineLog is an io.Writer that keeps what is written as lines and lets a
// test wait for a line to appear. It is safe for concurrent use.
type lineLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	changed chan struct{} // closed and replaced when a line is added
}

func newLineLog() *lineLog { return &lineLog{changed: make(chan struct{})} }

func (l *lineLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	added := false
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		added = true
	}
	if added {
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(b), nil
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n") + string(l.partial)
}

// len is the number of complete lines so far.
func (l *lineLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// waitFor returns the first line at index from or later that match accepts,
// waiting up to d for it to be written.
func (l *lineLog) waitFor(t *testing.T, from int, d time.Duration, what string, match func(string) bool) string {
	t.Helper()
	timeout := time.After(d)
	for i := from; ; {
		l.mu.Lock()
		lines, changed := l.lines, l.changed
		l.mu.Unlock()
		for ; i < len(lines); i++ {
			if match(lines[i]) {
				return lines[i]
			}
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("no log line %s within %v:\n%s", what, d, l.String())
			return ""
		}
	}
}

// logEntry is one JSON log line; it is nil for lines that are not JSON.
type logEntry map[string]any

func parseEntry(line string) logEntry {
	var e logEntry
	if json.Unmarshal([]byte(line), &e) != nil {
		return nil
	}
	return e
}

func (e logEntry) str(k string) string { s, _ := e[k].(string); return s }

// hasMsg matches JSON log lines at level with message msg.
func hasMsg(level, msg string) func(string) bool {
	return func(line string) bool {
		e := parseEntry(line)
		return e.str("level") == level && e.str("msg") == msg
	}
}

// nameBackend answers every request with its name in X-Backend and body.
func nameBackend(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Backend", name)
		io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	return s
}

// keepAliveClient is a client with a connection pool, closed at cleanup so
// no connection goroutine outlives the test.
func keepAliveClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// fetchGet does a GET and returns the status, X-Backend and body.
func fetchGet(c *http.Client, url string) (int, string, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Backend"), string(b), err
}

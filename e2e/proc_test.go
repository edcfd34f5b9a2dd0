package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a child process owned by a test: its output is kept (and shown
// when the test fails) and it is killed, if still running, when the test
// ends.
type proc struct {
	name  string
	cmd   *exec.Cmd
	out   *lockedBuffer
	logs  *lockedBuffer // stderr alone, for a process that logs JSON lines; else nil
	done  chan struct{} // closed once the process has exited
	state *os.ProcessState
}

func startProc(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	return start(t, name, false, bin, args...)
}

// start runs bin. With jsonLogs, the process promises one JSON object per
// line on stderr: when it has stopped, every line is checked (no duplicate
// keys at any depth), so every test that runs it checks what it logged.
func start(t *testing.T, name string, jsonLogs bool, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if jsonLogs {
		p.logs = &lockedBuffer{}
		p.cmd.Stderr = io.MultiWriter(p.out, p.logs)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if p.logs != nil {
			if err := checkLogLines(p.logs.bytes()); err != nil {
				t.Errorf("%s stderr: %v", name, err)
			}
		}
		if t.Failed() {
			t.Logf("--- %s output (last 4 KiB):\n%s", name, p.out.tail(4<<10))
		}
	})
	return p
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s to %s: %v", sig, p.name, err)
	}
}

// wait waits up to limit for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.state.ExitCode()
	case <-time.After(limit):
		t.Fatalf("%s still running after %v", p.name, limit)
		return -1
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	p.signal(t, syscall.SIGKILL)
	p.wait(t, 5*time.Second)
}

// lockedBuffer collects a process's output from the copying goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

func (l *lockedBuffer) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.b.Bytes()
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// eventually polls cond every tick until it holds, failing after limit. It
// returns how long it took.
func eventually(t *testing.T, limit, tick time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	tk := time.NewTicker(tick)
	defer tk.Stop()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("after %v: %s", limit, what)
		}
		<-tk.C
	}
	return time.Since(start)
}

// waitHTTP waits until GET url answers want, failing at once if p exits.
func (p *proc) waitHTTP(t *testing.T, url string, want int) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Timeout: time.Second, Transport: tr}
	eventually(t, 10*time.Second, 20*time.Millisecond, fmt.Sprintf("no %d from %s", want, url), func() bool {
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v) before %s answered", p.name, p.state, url)
		default:
		}
		resp, err := c.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == want
	})
}

// startBackend runs a testbackend named name on addr and waits until it
// answers. failFile may be "".
func startBackend(t *testing.T, name, addr, failFile string) *proc {
	t.Helper()
	_, tb := binaries(t)
	args := []string{"-listen", addr, "-name", name}
	if failFile != "" {
		args = append(args, "-fail-file", failFile)
	}
	p := startProc(t, "testbackend "+name, tb, args...)
	p.waitHTTP(t, "http://"+addr+"/", http.StatusOK)
	return p
}

// startBulwark writes yaml to a file, runs bulwark on it and waits until
// addr's /__lbheartbeat__ answers 200.
func startBulwark(t *testing.T, name, addr, yaml string) *proc {
	t.Helper()
	bin, _ := binaries(t)
	cfg := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, "bulwark "+name, true, bin, "-config", cfg)
	p.waitHTTP(t, "http://"+addr+"/__lbheartbeat__", http.StatusOK)
	return p
}

package redistest

import (
	"bufio"
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// proc is one redis-server process (a data node or a sentinel).
type proc struct {
	Port int
	args []string
	cmd  *exec.Cmd
	done chan struct{}
}

// start runs the process and returns once its log shows ready.
func (p *proc) start(ready string) error {
	if p.cmd != nil {
		return fmt.Errorf("redistest: port %d already running", p.Port)
	}
	cmd := exec.Command(Bin, p.args...)
	orphanKill(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	ok := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		var log strings.Builder
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), ready) {
				ok <- nil
				io.Copy(io.Discard, out)
				break
			}
		}
		cmd.Wait()
		ok <- fmt.Errorf("redis-server exited before it was ready:\n%s", log.String())
	}()
	select {
	case err := <-ok:
		if err != nil {
			<-done
			return err
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("redis-server on port %d not ready after 20s", p.Port)
	}
	p.cmd, p.done = cmd, done
	return nil
}

// kill kills the process (SIGKILL) and waits for it; a stopped one is left.
func (p *proc) kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
	p.cmd = nil
}

// Addr is the process's 127.0.0.1:port.
func (p *proc) Addr() string { return "127.0.0.1:" + strconv.Itoa(p.Port) }

// need skips t when redis-server is missing, or fails it when CI=true.
func need(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Bin); err != nil {
		testutil.SkipOrFail(t, "redis-server not installed: %v", err)
	}
}

// freeBlock finds n consecutive free loopback ports below 55535 whose
// cluster bus ports (port+10000) are free too.
func freeBlock(n int) (int, error) {
	for range 200 {
		base := 20000 + int(time.Now().UnixNano()/1000%30000)
		ok := true
		for p := base; p < base+n && ok; p++ {
			ok = free(p) && free(p+10000)
		}
		if ok {
			return base, nil
		}
	}
	return 0, fmt.Errorf("redistest: no %d free ports", n)
}

func free(port int) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// shared are the processes that outlive one test (a package's shared
// cluster and sentinel group); Main kills them.
var shared struct {
	mu    sync.Mutex
	procs []*proc
	dirs  []string
}

func ownDir(dir string) {
	shared.mu.Lock()
	shared.dirs = append(shared.dirs, dir)
	shared.mu.Unlock()
}

func own(p *proc) {
	shared.mu.Lock()
	shared.procs = append(shared.procs, p)
	shared.mu.Unlock()
}

// M is what TestMain runs (goleak.VerifyTestMain takes one).
type M interface{ Run() int }

// Main wraps m so that the processes shared by a package's tests (Cluster,
// Sentinels) are killed when its tests end:
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(redistest.Main(m)) }
func Main(m M) M { return mainM{m} }

type mainM struct{ m M }

func (w mainM) Run() int {
	code := w.m.Run()
	shared.mu.Lock()
	for _, p := range shared.procs {
		p.kill()
	}
	shared.procs = nil
	for _, d := range shared.dirs {
		os.RemoveAll(d)
	}
	shared.dirs = nil
	shared.mu.Unlock()
	return code
}

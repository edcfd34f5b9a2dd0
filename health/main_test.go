package health

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bulwark-router/bulwark/stats"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("net/http.(*conn).closeWriteAndWait"))
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// recorder keeps what the checker reports; stats has no implementation in
// this package, and Nop would record nothing.
type recorder struct {
	stats.Nop
	mu    sync.Mutex
	up    map[string]bool // backend/target
	fails map[string]int  // backend
}

func newRecorder() *recorder { return &recorder{up: map[string]bool{}, fails: map[string]int{}} }

func (r *recorder) BackendUp(backend, target string, up bool) {
	r.mu.Lock()
	r.up[backend+"/"+target] = up
	r.mu.Unlock()
}

func (r *recorder) HealthFail(backend string) {
	r.mu.Lock()
	r.fails[backend]++
	r.mu.Unlock()
}

func (r *recorder) get(bt string) (up, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	up, ok = r.up[bt]
	return up, ok
}

func (r *recorder) failCount(b string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fails[b]
}

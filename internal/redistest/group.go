package redistest

import (
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// group is a set of processes shared by the tests of one package, started
// on first use (a Cluster or Sentinels).
type group[T interface{ waitWhole(time.Duration) error }] struct {
	once sync.Once
	v    T
	err  error
}

// get starts the group with start on first use and waits until it is
// whole. It skips t without redis-server, unless CI=true.
func (g *group[T]) get(t testing.TB, start func() (T, error)) T {
	t.Helper()
	need(t)
	g.once.Do(func() { g.v, g.err = start() })
	if g.err != nil {
		t.Fatal(g.err)
	}
	if err := g.v.waitWhole(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	return g.v
}

// newGroupDir makes a directory (removed by Main) for a group of n
// processes and finds n consecutive free ports for them, from base.
func newGroupDir(prefix string, n int) (dir string, base int, err error) {
	dir, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", 0, err
	}
	ownDir(dir)
	base, err = freeBlock(n)
	return dir, base, err
}

// dataArgs are a data node's redis-server flags: loopback only, nothing
// saved to disk.
func dataArgs(port int, dir string) []string {
	return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "notice"}
}

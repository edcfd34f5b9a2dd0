package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// load is a few client goroutines sending GETs to one URL, each at most one
// every pace, until Stop or its time limit. It counts answers by the
// X-Backend header and keeps every failure (transport error or non-200).
type load struct {
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu     sync.Mutex
	byName map[string]int
	fails  []failure
}

type failure struct {
	at   time.Time
	what string
}

func startLoad(t *testing.T, url string, clients int, pace, limit time.Duration) *load {
	t.Helper()
	l := &load{byName: map[string]int{}}
	l.ctx, l.stop = context.WithTimeout(context.Background(), limit)
	for range clients {
		tr := &http.Transport{MaxIdleConnsPerHost: 2}
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		l.wg.Go(func() {
			defer tr.CloseIdleConnections()
			tk := time.NewTicker(pace)
			defer tk.Stop()
			for {
				select {
				case <-l.ctx.Done():
					return
				case <-tk.C:
				}
				l.record(c.Get(url))
			}
		})
	}
	t.Cleanup(l.Stop)
	return l
}

func (l *load) record(resp *http.Response, err error) {
	now := time.Now()
	var what, name string
	if err == nil {
		_, rerr := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		name = resp.Header.Get("X-Backend")
		switch {
		case resp.StatusCode != http.StatusOK:
			what = fmt.Sprintf("status %d from %q", resp.StatusCode, name)
		case rerr != nil:
			what = fmt.Sprintf("body from %q: %v", name, rerr)
		}
	} else {
		what = err.Error()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if what != "" {
		l.fails = append(l.fails, failure{now, what})
		return
	}
	l.byName[name]++
}

// Stop ends the load and waits for every client; it may be called twice.
func (l *load) Stop() {
	l.stop()
	l.wg.Wait()
}

// count is how many successful answers came from name.
func (l *load) count(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byName[name]
}

func (l *load) failures() []failure {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]failure(nil), l.fails...)
}

func (l *load) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.fails)
	for _, c := range l.byName {
		n += c
	}
	return n
}

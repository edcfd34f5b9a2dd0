package upstream

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// connCounter counts a backend's connections: how many were opened and the
// most open at once.
type connCounter struct {
	mu             sync.Mutex
	open, max, all int
}

func (cc *connCounter) hook(_ net.Conn, s http.ConnState) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	switch s {
	case http.StateNew:
		cc.open++
		cc.all++
		cc.max = max(cc.max, cc.open)
	case http.StateClosed, http.StateHijacked:
		cc.open--
	}
}

func (cc *connCounter) counts() (all, max int) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.all, cc.max
}

// TestMaxConnsPerTarget: six concurrent requests share two connections;
// the others wait instead of dialing.
func TestMaxConnsPerTarget(t *testing.T) {
	var in atomic.Int32
	bothIn := make(chan struct{})
	var cc connCounter
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if in.Add(1) == 2 {
			close(bothIn)
		}
		<-bothIn // the first two hold their connections until both are in
		io.WriteString(w, "ok")
	}))
	be.Config.ConnState = cc.hook
	be.Start()
	t.Cleanup(be.Close)
	tr := newTransport(t, Options{MaxConnsPerTarget: 2})
	f := newFront(t, tr, be.URL)

	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := f.client.Get(f.URL)
			if err != nil {
				t.Error(err)
				return
			}
			if got := readAll(t, resp); got != "ok" {
				t.Errorf("body = %q", got)
			}
		}()
	}
	wg.Wait()
	if all, max := cc.counts(); all != 2 || max != 2 {
		t.Errorf("backend saw %d connections, %d at once; want 2", all, max)
	}
	if s := tr.Stats(); s.Dials != 2 || s.Targets[target(t, be.URL)].Open != 2 {
		t.Errorf("stats = %+v, want 2 dials", s)
	}
}

// TestWaitRespectsContext: at the cap, a waiting request gives up when its
// context does, without dialing.
func TestWaitRespectsContext(t *testing.T) {
	held, release := make(chan struct{}), make(chan struct{})
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			close(held)
			<-release
		}
		io.WriteString(w, "ok")
	})
	tr := newTransport(t, Options{MaxConnsPerTarget: 1})
	done := make(chan error, 1)
	go func() {
		resp, err := get(t, tr, be.URL+"/hold")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	<-held

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", be.URL, nil)
	_, err := tr.RoundTrip(req)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for a connection") {
		t.Errorf("err = %v, want a deadline while waiting for a connection", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	resp, err := get(t, tr, be.URL)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if s := tr.Stats(); s.Dials != 1 || s.Reused != 1 || s.Targets[target(t, be.URL)].Waiting != 0 {
		t.Errorf("stats = %+v, want one connection for all", s)
	}
}

// TestMaxIdlePerTarget: four concurrent requests need four connections; two
// stay idle afterwards.
func TestMaxIdlePerTarget(t *testing.T) {
	var in atomic.Int32
	allIn := make(chan struct{})
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		if in.Add(1) == 4 {
			close(allIn)
		}
		<-allIn
		io.WriteString(w, "ok")
	})
	tr := newTransport(t, Options{MaxIdlePerTarget: 2})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := get(t, tr, be.URL)
			if err != nil {
				t.Error(err)
				return
			}
			readAll(t, resp)
		}()
	}
	wg.Wait()
	s := tr.Stats()
	if ts := s.Targets[target(t, be.URL)]; s.Dials != 4 || s.Closed != 2 || ts.Idle != 2 || ts.Open != 2 {
		t.Errorf("stats = %+v, want 4 dials, 2 closed, 2 idle", s)
	}
}

// TestCloseIdleAndClose: CloseIdleConnections empties the pool; after Close
// a request in flight finishes and its connection is closed, and a late
// request (one that picked the transport before a reload retired it) is
// still served, on a connection that is not pooled.
func TestCloseIdleAndClose(t *testing.T) {
	held, release := make(chan struct{}), make(chan struct{})
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			close(held)
			<-release
		}
		io.WriteString(w, "ok")
	})
	tr := New(Options{})
	resp, err := get(t, tr, be.URL)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	tr.CloseIdleConnections()
	if s := tr.Stats(); s.Closed != 1 || s.Targets[target(t, be.URL)].Open != 0 {
		t.Errorf("after CloseIdleConnections: %+v", s)
	}

	done := make(chan error, 1)
	go func() {
		resp, err := get(t, tr, be.URL+"/hold")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	<-held
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("request in flight during Close: %v", err)
	}
	if s := tr.Stats(); s.Closed != 2 || s.Targets[target(t, be.URL)].Open != 0 {
		t.Errorf("after Close: %+v, want the in-flight connection closed", s)
	}
	resp, err = get(t, tr, be.URL)
	if err != nil {
		t.Fatalf("request after Close: %v", err)
	}
	readAll(t, resp)
	if s := tr.Stats(); s.Closed != 3 || s.Targets[target(t, be.URL)].Open != 0 || s.Targets[target(t, be.URL)].Idle != 0 {
		t.Errorf("after a request past Close: %+v, want its connection closed, not pooled", s)
	}
}

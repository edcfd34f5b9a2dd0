package upstream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

const pipeURL = "http://backend.test"

// TestIdleSweep: an idle connection is closed IdleTimeout after its last
// use, and the sweep re-arms for connections pooled later.
func TestIdleSweep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTransport(t, Options{IdleTimeout: 10 * time.Second, Dialer: pipeDialer{serveOK}})
		key := target(t, pipeURL)
		roundTrip := func() {
			resp, err := get(t, tr, pipeURL)
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp)
		}
		tests := []struct {
			wait        time.Duration
			wantIdle    int
			wantExpired uint64
		}{
			{9 * time.Second, 1, 0},
			{time.Second, 0, 1},
		}
		for round := 0; round < 2; round++ {
			roundTrip()
			for _, tt := range tests {
				time.Sleep(tt.wait)
				synctest.Wait()
				s := tr.Stats()
				if s.Targets[key].Idle != tt.wantIdle || s.Expired != tt.wantExpired+uint64(round) {
					t.Errorf("round %d after %v: %+v, want %d idle", round, tt.wait, s, tt.wantIdle)
				}
			}
		}
	})
}

// TestWaiterGetsReleasedConn: at the cap, a waiting request takes the
// connection the running one gives back, and a second waiter gives up at
// its deadline.
func TestWaiterGetsReleasedConn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		serve := func(c net.Conn) {
			br := bufio.NewReader(c)
			for {
				req, _, err := readRequest(br)
				if err != nil {
					return
				}
				if req.URL.Path == "/hold" {
					<-release
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
		}
		tr := newTransport(t, Options{MaxConnsPerTarget: 1, Dialer: pipeDialer{serve}})
		key := target(t, pipeURL)
		results := make(chan error, 3)
		send := func(ctx context.Context, path string) {
			req, _ := http.NewRequestWithContext(ctx, "GET", pipeURL+path, nil)
			resp, err := tr.RoundTrip(req)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			results <- err
		}
		go send(context.Background(), "/hold")
		synctest.Wait()
		go send(context.Background(), "/")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		go send(ctx, "/")
		synctest.Wait()
		if s := tr.Stats(); s.Targets[key].Waiting != 2 || s.Dials != 1 {
			t.Fatalf("stats = %+v, want 2 waiting on 1 connection", s)
		}
		time.Sleep(5 * time.Second)
		if err := <-results; !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("third request: %v, want its deadline", err)
		}
		close(release)
		for i := 0; i < 2; i++ {
			if err := <-results; err != nil {
				t.Error(err)
			}
		}
		if s := tr.Stats(); s.Dials != 1 || s.Reused != 1 || s.Targets[key].Waiting != 0 {
			t.Errorf("stats = %+v, want the connection handed over", s)
		}
	})
}

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
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

const pipelineConfig = `listen: %s
admin: {listen: %s}
log: {level: error, access: false}
backends:
  app: {targets: [%s]}
routes:
  - {match: {path_prefix: /flood/}, backend: app, limit: tiny}
  - {backend: app}
limits:
  default: {rate: 100000/s, burst: 100000}
  tiny: {rate: 1/m, burst: 1}
`

const (
	pipelineConns    = 8
	pipelineDepth    = 32 // requests per write
	pipelineDuration = 3 * time.Second
)

// TestPipelinedFloodIsAnsweredInOrder floods the router binary with
// pipelined requests, 32 to a write on each of 8 connections, nearly all
// refused, with one request in each batch the router forwards. Every
// request gets its answer, in order (the forwarded one's answer comes back
// in its place in the batch), and clients on other addresses are served
// all along.
func TestPipelinedFloodIsAnsweredInOrder(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	addr, admin := testutil.FreeAddr(t), testutil.FreeAddr(t)
	startBulwark(t, "pipeline", addr, fmt.Sprintf(pipelineConfig, addr, admin, backend.URL))

	// The flood's one admitted /flood/ request of the minute, spent first.
	if resp, err := http.Get("http://" + addr + "/flood/first"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}

	ctx, cancel := context.WithTimeout(context.Background(), pipelineDuration)
	defer cancel()
	var (
		wg                  sync.WaitGroup
		refused, forwarded  atomic.Int64
		legitOK, legitOther atomic.Int64
		legitSlowest        atomic.Int64
	)
	for w := range pipelineConns {
		wg.Go(func() {
			if err := pipelineWorker(ctx, addr, w, &refused, &forwarded); err != nil {
				t.Errorf("worker %d: %v", w, err)
			}
		})
	}
	for i := range 3 {
		local := &net.TCPAddr{IP: net.ParseIP(fmt.Sprintf("127.0.0.%d", i+2))}
		tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: local, Timeout: time.Second}).DialContext}
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		wg.Go(func() {
			defer tr.CloseIdleConnections()
			tk := time.NewTicker(100 * time.Millisecond)
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tk.C:
				}
				t0 := time.Now()
				resp, err := c.Get("http://" + addr + "/legit")
				if err != nil {
					legitOther.Add(1)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && string(body) == "/legit" {
					legitOK.Add(1)
				} else {
					legitOther.Add(1)
				}
				maxInt64(&legitSlowest, int64(time.Since(t0)))
			}
		})
	}
	wg.Wait()

	t.Logf("flood: %d refused, %d forwarded in place (%.0f answers/s); legitimate: %d ok, %d not, slowest %v",
		refused.Load(), forwarded.Load(), float64(refused.Load()+forwarded.Load())/pipelineDuration.Seconds(),
		legitOK.Load(), legitOther.Load(), time.Duration(legitSlowest.Load()).Round(time.Millisecond))
	if forwarded.Load() == 0 || refused.Load() < forwarded.Load()*(pipelineDepth-1) {
		t.Errorf("%d refused and %d forwarded: not the batches sent", refused.Load(), forwarded.Load())
	}
	if legitOther.Load() > 0 || legitOK.Load() < 10 {
		t.Errorf("legitimate clients: %d ok, %d not", legitOK.Load(), legitOther.Load())
	}
}

// pipelineWorker sends batches on one connection until ctx ends: each
// batch is refused requests with one the router forwards in the middle,
// written at once, then its answers are read and checked one by one.
func pipelineWorker(ctx context.Context, addr string, w int, refused, forwarded *atomic.Int64) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	var batch strings.Builder
	for n := 0; ctx.Err() == nil; n++ {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		batch.Reset()
		ok := fmt.Sprintf("/ok/%d/%d", w, n)
		for i := range pipelineDepth {
			path := "/flood/x"
			if i == pipelineDepth/2 {
				path = ok
			}
			fmt.Fprintf(&batch, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
		}
		if _, err := io.WriteString(conn, batch.String()); err != nil {
			return err
		}
		for i := range pipelineDepth {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				return fmt.Errorf("batch %d, answer %d: %v", n, i, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return fmt.Errorf("batch %d, answer %d: %v", n, i, err)
			}
			switch {
			case i == pipelineDepth/2:
				if resp.StatusCode != 200 || string(body) != ok {
					return fmt.Errorf("batch %d, answer %d: %d %q, want 200 %q", n, i, resp.StatusCode, body, ok)
				}
				forwarded.Add(1)
			case resp.StatusCode == 429 || resp.StatusCode == 403:
				refused.Add(1)
			default:
				return fmt.Errorf("batch %d, answer %d: %d %q, want a refusal", n, i, resp.StatusCode, body)
			}
		}
	}
	return nil
}

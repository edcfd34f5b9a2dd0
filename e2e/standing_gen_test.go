package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// standingGenEnv holds the flood generator's orders: "ADDR BOTS SLOWLORIS
// WORKERS MILLISECONDS". TestStandingFlood runs this test binary again with
// it, as a process of its own (pinned to a core of its own).
const standingGenEnv = "BULWARK_FLOOD_GEN"

// standingGenResult is what the generator prints on its last line, after
// "RESULT ".
type standingGenResult struct {
	Sent, OK, Slow int
	Codes          map[int]int
}

// botAddr is the n-th flood address: 127.10.0.0 and up.
func botAddr(n int) net.IP {
	return net.IPv4(127, byte(10+n>>16), byte(n>>8), byte(n))
}

// TestStandingFloodGenerator is the flood of TestStandingFlood: workers
// each sending one request per connection, as fast as answers come, from
// the next of bots addresses (no cookies kept), and slowloris connections
// trickling a header each, kept open, made again when closed.
func TestStandingFloodGenerator(t *testing.T) {
	orders := os.Getenv(standingGenEnv)
	if orders == "" {
		t.Skip("run by TestStandingFlood")
	}
	var (
		addr                string
		bots, slow, workers int
		ms                  int
	)
	if _, err := fmt.Sscanf(orders, "%s %d %d %d %d", &addr, &bots, &slow, &workers, &ms); err != nil {
		t.Fatalf("%s=%q: %v", standingGenEnv, orders, err)
	}
	ctx, stop := context.WithTimeout(context.Background(), time.Duration(ms)*time.Millisecond)
	defer stop()
	var (
		next, slowMade atomic.Int64
		mu             sync.Mutex
		res            = standingGenResult{Codes: map[int]int{}}
		wg             sync.WaitGroup
	)
	// BULWARK_FLOOD_BOT_COOKIES=1: each bot address keeps the challenge's
	// cookie and follows its redirect, as a bot built to pass it would.
	var jar []atomic.Pointer[string]
	if os.Getenv("BULWARK_FLOOD_BOT_COOKIES") == "1" {
		jar = make([]atomic.Pointer[string], bots)
	}
	for range workers {
		wg.Go(func() {
			codes := map[int]int{}
			for ctx.Err() == nil {
				n := int(next.Add(1) % int64(bots))
				if jar != nil {
					codes[botWithCookie(ctx, addr, botAddr(n), &jar[n])]++
					continue
				}
				codes[botRequest(ctx, addr, botAddr(n))]++
			}
			mu.Lock()
			defer mu.Unlock()
			for c, n := range codes {
				res.Codes[c] += n
				res.Sent += n
				if c == http.StatusOK {
					res.OK += n
				}
			}
		})
	}
	for i := range slow {
		wg.Go(func() {
			for ctx.Err() == nil {
				slowloris(ctx, addr, net.IPv4(127, 20, byte(i>>8), byte(i)))
				slowMade.Add(1)
			}
		})
	}
	wg.Wait()
	res.Slow = int(slowMade.Load())
	b, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", b)
}

// botRequest sends one GET on a new connection from src and returns the
// answer's status (0: none).
func botRequest(ctx context.Context, addr string, src net.IP) int {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		time.Sleep(10 * time.Millisecond) // the router restarting
		return 0
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("GET /bot HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n")); err != nil {
		return 0
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// slowloris opens a connection from src and sends a header line a second
// until the router closes it or ctx ends.
func slowloris(ctx context.Context, addr string, src net.IP) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		time.Sleep(100 * time.Millisecond)
		return
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET /slow HTTP/1.1\r\nHost: app\r\n")); err != nil {
		return
	}
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		if _, err := fmt.Fprintf(c, "X-Slow-%d: 1\r\n", i); err != nil {
			return
		}
	}
}

// botWithCookie is botRequest from a bot that keeps the cookie an answer
// sets (in *jar) and follows a 307 once.
func botWithCookie(ctx context.Context, addr string, src net.IP, jar *atomic.Pointer[string]) int {
	code := 0
	for range 2 {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: time.Second}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			return 0
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		cookie := ""
		if v := jar.Load(); v != nil {
			cookie = "Cookie: " + *v + "\r\n"
		}
		if _, err := c.Write([]byte("GET /bot HTTP/1.1\r\nHost: app\r\n" + cookie + "Connection: close\r\n\r\n")); err != nil {
			c.Close()
			return 0
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			return 0
		}
		resp.Body.Close()
		for _, sc := range resp.Cookies() {
			v := sc.Name + "=" + sc.Value
			jar.Store(&v)
		}
		code = resp.StatusCode
		if code != http.StatusTemporaryRedirect {
			return code
		}
	}
	return code
}

package router

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// switchBackend is a raw HTTP/1.1 backend that misbehaves on request: by
// path, it answers 101 Switching Protocols whatever was asked, sends
// informational answers in numbers, or reports what it received.
//
//	/switch       100 Continue first when asked, then 101 with Upgrade: evil
//	/switch-bare  101 with no Upgrade or Connection field
//	/switch-as    101 with the Upgrade field the request carried
//	/hints?n=N    N 103 Early Hints, then 200
//	/continue?n=N N 100 Continue (before the body is read), then 200
//	anything else 200 with a JSON report of the request
//
// After a 101 it keeps reading the connection until EOF and hands what it
// read to switched: bytes that reached it through a tunnel.
type switchBackend struct {
	url      string
	switched chan string
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

func newSwitchBackend(t *testing.T) *switchBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sb := &switchBackend{url: "http://" + ln.Addr().String(), switched: make(chan string, 64),
		ln: ln, conns: map[net.Conn]bool{}}
	sb.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			sb.mu.Lock()
			sb.conns[c] = true
			sb.mu.Unlock()
			sb.wg.Go(func() { sb.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		sb.mu.Lock()
		for c := range sb.conns {
			c.Close()
		}
		sb.mu.Unlock()
		sb.wg.Wait()
	})
	return sb
}

func (sb *switchBackend) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for {
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		expect := r.Header.Get("Expect") != ""
		switch r.URL.Path {
		case "/switch", "/switch-bare", "/switch-as":
			if expect {
				io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
			}
			io.Copy(io.Discard, r.Body)
			head := "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: evil\r\n\r\n"
			switch r.URL.Path {
			case "/switch-bare":
				head = "HTTP/1.1 101 Switching Protocols\r\n\r\n"
			case "/switch-as":
				head = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + r.Header.Get("Upgrade") + "\r\n\r\n"
			}
			io.WriteString(c, head)
			rest, _ := io.ReadAll(br) // until the router closes its side
			sb.switched <- string(rest)
			return
		case "/hints":
			for range n {
				io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
			}
		case "/continue":
			for range n {
				io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
			}
		}
		body, _ := io.ReadAll(r.Body)
		report, _ := json.Marshal(map[string]any{
			"uri": r.RequestURI, "header": r.Header, "body": string(body),
		})
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(report), report)
	}
}

// tunnelled waits for the connection a 101 was sent on to end and returns
// what reached the backend on it after the 101.
func (sb *switchBackend) tunnelled(t *testing.T) string {
	t.Helper()
	select {
	case s := <-sb.switched:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("the switched backend connection is still open")
		return ""
	}
}

// report is the JSON a switchBackend answers with.
type report struct {
	URI    string      `json:"uri"`
	Header http.Header `json:"header"`
	Body   string      `json:"body"`
}

func parseReport(t *testing.T, body string) report {
	t.Helper()
	var r report
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("backend report %q: %v", body, err)
	}
	return r
}

// readFinal reads answers from br until a final one and returns it with
// its body and the informational answers before it.
func readFinal(t *testing.T, br *bufio.Reader, method string) (resp *http.Response, body string, informational []int) {
	t.Helper()
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("reading an answer: %v (after %v)", err, informational)
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			informational = append(informational, resp.StatusCode)
			continue
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, "", informational
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("reading a body: %v", err)
		}
		return resp, string(b), informational
	}
}

// connClosed reports whether the peer closed c before sending a byte.
func connClosed(br *bufio.Reader) bool {
	_, err := br.ReadByte()
	return err != nil && (err == io.EOF || strings.Contains(err.Error(), "reset"))
}

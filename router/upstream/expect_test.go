package upstream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// expectClient sends "Expect: 100-continue" and waits for the 100.
func expectClient(t *testing.T) *http.Client {
	ct := &http.Transport{ExpectContinueTimeout: 10 * time.Second, DisableKeepAlives: true}
	t.Cleanup(ct.CloseIdleConnections)
	return &http.Client{Transport: ct}
}

func TestExpectContinueThroughProxy(t *testing.T) {
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/reject" {
			w.WriteHeader(http.StatusUnauthorized) // body never read
			return
		}
		body, _ := io.ReadAll(r.Body) // makes the server send 100
		io.WriteString(w, "got:"+string(body))
	})
	tr := newTransport(t, Options{})
	f := newFront(t, tr, be.URL)
	client := expectClient(t)

	req, _ := http.NewRequest("POST", f.URL+"/accept", strings.NewReader("payload"))
	req.Header.Set("Expect", "100-continue")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); got != "got:payload" {
		t.Errorf("body = %q", got)
	}
	f.wait(t)
	if s := tr.Stats(); s.Closed != 0 || s.Targets[target(t, be.URL)].Idle != 1 {
		t.Errorf("after 100 then 200: stats = %+v, want the connection pooled", s)
	}

	// A final status instead of 100: the body is not sent and the
	// connection is not reused.
	sent := &countingReader{r: strings.NewReader(strings.Repeat("x", 1<<20))}
	req, _ = http.NewRequest("POST", f.URL+"/reject", sent)
	req.ContentLength = 1 << 20
	req.Header.Set("Expect", "100-continue")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	f.wait(t)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", resp.StatusCode)
	}
	if n := sent.total(); n != 0 {
		t.Errorf("client body read %d bytes, want 0", n)
	}
	if s := tr.Stats(); s.Closed != 1 {
		t.Errorf("after a final status without 100: stats = %+v, want the connection closed", s)
	}
}

type countingReader struct {
	mu sync.Mutex
	r  io.Reader
	n  int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.mu.Lock()
	c.n += n
	c.mu.Unlock()
	return n, err
}

func (c *countingReader) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestExpectContinueNoAnswer: a backend that ignores Expect gets the body
// after ExpectContinueTimeout.
func TestExpectContinueNoAnswer(t *testing.T) {
	srv := newRawServer(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		_, body, err := readRequest(br) // waits for the body, sends no 100
		if err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+itoa(len(body))+"\r\n\r\n"+string(body))
	})
	tr := newTransport(t, Options{ExpectContinueTimeout: 20 * time.Millisecond})
	req, _ := http.NewRequest("PUT", srv.URL(), strings.NewReader("late body"))
	req.Header.Set("Expect", "100-continue")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); got != "late body" {
		t.Errorf("body = %q", got)
	}
}

// TestInformational: 1xx heads before the final one are skipped, and given
// to the request's Got1xxResponse trace (so ReverseProxy forwards them);
// Got100Continue fires for a 100 after Expect.
func TestInformational(t *testing.T) {
	srv := newRawServer(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
			if req.Header.Get("Expect") != "" {
				io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
			}
			body, _ := io.ReadAll(req.Body)
			io.WriteString(c, "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: "+itoa(len(body))+"\r\n\r\n"+string(body))
		}
	})
	tr := newTransport(t, Options{})

	// Directly, with a trace.
	var mu sync.Mutex
	var codes []int
	var links []string
	continued := false
	trace := &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			mu.Lock()
			defer mu.Unlock()
			codes = append(codes, code)
			links = append(links, h.Get("Link"))
			return nil
		},
		Got100Continue: func() { continued = true },
	}
	ctx := httptrace.WithClientTrace(context.Background(), trace)
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL(), strings.NewReader("abc"))
	req.Header.Set("Expect", "100-continue")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); resp.StatusCode != 200 || got != "abc" {
		t.Errorf("final = %d %q", resp.StatusCode, got)
	}
	if want := []int{103, 100, 102}; !slices.Equal(codes, want) || links[0] != "</a.css>; rel=preload" || !continued {
		t.Errorf("1xx codes %v links %q continued %v, want %v", codes, links, continued, want)
	}

	// Through ReverseProxy: the client sees the 103.
	f := newFront(t, tr, srv.URL())
	var seen []int
	ctx = httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			seen = append(seen, code)
			return nil
		},
	})
	req, _ = http.NewRequestWithContext(ctx, "GET", f.URL, nil)
	resp, err = f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	f.wait(t)
	if resp.StatusCode != 200 || len(seen) == 0 || seen[0] != 103 {
		t.Errorf("client saw 1xx %v and %d", seen, resp.StatusCode)
	}
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}

// TestContinueOnce: a backend that repeats 100 Continue, before and after
// the body, has the caller's hooks see one 100 per request, with or
// without Expect.
func TestContinueOnce(t *testing.T) {
	srv := newRawServer(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n")
			body, _ := io.ReadAll(req.Body)
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: "+itoa(len(body))+"\r\n\r\n"+string(body))
		}
	})
	tr := newTransport(t, Options{})
	for _, expect := range []bool{true, false} {
		var codes []int
		continued := 0
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
				codes = append(codes, code)
				return nil
			},
			Got100Continue: func() { continued++ },
		})
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL(), strings.NewReader("abc"))
		if expect {
			req.Header.Set("Expect", "100-continue")
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != "abc" {
			t.Errorf("body %q", got)
		}
		wantContinued := 0
		if expect {
			wantContinued = 1
		}
		if !slices.Equal(codes, []int{100}) || continued != wantContinued {
			t.Errorf("Expect %v: 1xx %v, Got100Continue %d times; want one 100, %d", expect, codes, continued, wantContinued)
		}
	}
}

// TestInformationalBudget: 1xx heads passed to Got1xxResponse still share
// the request's header budget with the final head.
func TestInformationalBudget(t *testing.T) {
	hint := "HTTP/1.1 103 Early Hints\r\nLink: " + strings.Repeat("l", 1500) + "\r\n\r\n"
	closed := make(chan struct{}, 1)
	srv := answerOnce(t, strings.Repeat(hint, 3)+"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", closed)
	tr := newTransport(t, Options{MaxResponseHeaderBytes: 4 << 10})
	seen := 0
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got1xxResponse: func(int, textproto.MIMEHeader) error { seen++; return nil },
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL(), nil)
	if _, err := tr.RoundTrip(req); !errors.Is(err, ErrHeaderTooLarge) {
		t.Fatalf("err = %v, want ErrHeaderTooLarge", err)
	}
	<-closed
	if seen != 2 {
		t.Errorf("Got1xxResponse saw %d heads, want the 2 within the budget", seen)
	}
}

package front

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func TestParseHead(t *testing.T) {
	cases := []struct {
		in   string
		want headKind
		// For headDecide and headPass:
		method, path, host string
		length             int64
		fwd                []string
		closing            bool
	}{
		{in: "GET /a?b=1 HTTP/1.1\r\nHost: h\r\n\r\n", want: headDecide, method: "GET", path: "/a", host: "h"},
		{in: "POST /p HTTP/1.1\r\nhost:  h:80 \r\ncontent-length: 12\r\nx-forwarded-for: 1.2.3.4\r\nX-Forwarded-For: 5.6.7.8, 9.9.9.9\r\nConnection: keep-alive, close\r\n\r\nbody",
			want: headDecide, method: "POST", path: "/p", host: "h:80", length: 12, fwd: []string{"1.2.3.4", "5.6.7.8, 9.9.9.9"}, closing: true},
		{in: "GET /a HTTP/1.1\r\nHost: h\r\n", want: headShort},
		{in: "GET /a HTT", want: headShort},
		{in: "", want: headShort},
		{in: "GET /%41 HTTP/1.1\r\nHost: h\r\n\r\n", want: headPass, method: "GET", path: "/%41", host: "h"},
		{in: "GET /a?%zz HTTP/1.1\r\nHost: h\r\n\r\n", want: headDecide, method: "GET", path: "/a", host: "h"},
		{in: "GET /% HTTP/1.1\r\nHost: h\r\n\r\n", want: headRaw},   // net/http: invalid URL escape
		{in: "GET /a%4 HTTP/1.1\r\nHost: h\r\n\r\n", want: headRaw}, // net/http: invalid URL escape
		{in: "GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", want: headRaw}, // net/http: invalid URL escape
		{in: "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", want: headRaw},
		{in: "GET http://h/a HTTP/1.1\r\nHost: h\r\n\r\n", want: headRaw},
		{in: "PUT /a HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", want: headPass, method: "PUT", path: "/a", host: "h", length: 5},
		{in: "GET /a HTTP/1.0\r\nHost: h\r\n\r\n", want: headRaw},
		{in: "GET /a HTTP/1.1\nHost: h\n\n", want: headRaw},
		{in: "GET /a HTTP/1.1\nHo", want: headRaw},
		{in: "\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n", want: headRaw},
		{in: "GET /a HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", want: headRaw},
		{in: "GET /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", want: headRaw},
		{in: "GET /a HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", want: headRaw},
		{in: "GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", want: headRaw},
		{in: "GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", want: headRaw},
		{in: "GET /a HTTP/1.1\r\n\r\n", want: headRaw},
		{in: "GET /a HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n", want: headRaw},
		{in: "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", want: headRaw},
		{in: "G(T /a HTTP/1.1\r\nHost: h\r\n\r\n", want: headRaw},
		{in: "GET /a HTTP/1.1\r\nHost: a b\r\n\r\n", want: headRaw},
		{in: "GET /a HTTP/1.1\r\nHost: a/b\r\n\r\n", want: headRaw},
		{in: "CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", want: headRaw},
		// A whole request line is judged at once, before the rest of the head.
		{in: "GET /h09\r\n", want: headRaw},
		{in: "GET / HTTP/1.1 extra\r\nHo", want: headRaw},
		{in: "GET / http/1.1\r\n", want: headRaw},
		{in: "GET /a\x01 HTTP/1.1\r\n", want: headRaw},
		{in: "GET /a HTTP/1.0\r\n", want: headRaw},
		{in: "GET / HTTP/1.2\r\n", want: headRaw}, // net/http reads it as 1.x
		{in: "GET / HTTP/0.9\r\n", want: headBad},
		{in: "GET / HTTP/2.0\r\nHost: h\r\n\r\n", want: headBad},
		{in: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", want: headRaw}, // the h2c preface
		{in: "PRI * HTTP/2.1\r\n", want: headBad},
		{in: "GET /a HTTP/1.1\r\nBad Line\r\nHo", want: headShort}, // a field line waits for the head
	}
	for _, tc := range cases {
		var h Head
		got := parseRequestHead([]byte(tc.in), "X-Forwarded-For", &h)
		if got != tc.want {
			t.Errorf("%q: kind %d, want %d", tc.in, got, tc.want)
			continue
		}
		if got != headDecide && got != headPass {
			continue
		}
		var fwd []string
		for _, f := range h.fwd[:h.nfwd] {
			fwd = append(fwd, string(f))
		}
		if string(h.method) != tc.method || string(h.path) != tc.path || string(h.host) != tc.host ||
			h.length != tc.length || strings.Join(fwd, "|") != strings.Join(tc.fwd, "|") || h.closing != tc.closing {
			t.Errorf("%q: got %q %q %q %d %q %v", tc.in, h.method, h.path, h.host, h.length, fwd, h.closing)
		}
		if end := strings.Index(tc.in, "\r\n\r\n") + 4; h.n != end {
			t.Errorf("%q: n %d, want %d", tc.in, h.n, end)
		}
	}
}

func TestParseHeadAllocatesNothing(t *testing.T) {
	b := []byte("POST /wsapi/stage_user HTTP/1.1\r\nHost: login.example.com\r\nUser-Agent: wrk\r\n" +
		"X-Forwarded-For: 192.0.2.1\r\nContent-Length: 12\r\nAccept: */*\r\n\r\n")
	var h Head
	if n := testing.AllocsPerRun(100, func() { parseRequestHead(b, "X-Forwarded-For", &h) }); n != 0 {
		t.Fatalf("%v allocations per head", n)
	}
}

// FuzzParseHead holds parseRequestHead to net/http: whatever it lets the front
// read (headDecide, headPass), net/http's server reads as the same request
// ending at the same byte, with the same method, path, host, body length
// and forwarded chain; and a request line it refuses (headBad) net/http's
// server does not serve either.
func FuzzParseHead(f *testing.F) {
	for _, s := range []string{
		"GET /a?b=1 HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX-Forwarded-For: 1.2.3.4\r\n\r\nabc",
		"GET /%41 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
		"GET /a HTTP/1.1\nHost: h\n\n",
		"GET /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/0.9\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Head
		kind := parseRequestHead(b, "X-Forwarded-For", &h)
		if kind == headBad {
			// The front refuses it: net/http's server does not serve it.
			line, _, _ := cutLine(b)
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(append(line[:len(line):len(line)], "\r\nHost: h\r\n\r\n"...))))
			if err == nil && (req.ProtoMajor == 1 || req.Method == "PRI" && req.RequestURI == "*" && req.Proto == "HTTP/2.0") {
				t.Fatalf("the front refuses %q, net/http serves it as %s", line, req.Proto)
			}
			return
		}
		if kind != headDecide && kind != headPass {
			return
		}
		if h.n > len(b) || !bytes.HasSuffix(b[:h.n], []byte("\r\n\r\n")) {
			t.Fatalf("head length %d", h.n)
		}
		br := bufio.NewReaderSize(bytes.NewReader(b[:h.n]), len(b)+16)
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("the front reads %q, net/http refuses it: %v", b[:h.n], err)
		}
		if br.Buffered() != 0 {
			t.Fatalf("net/http's head ends %d bytes before the front's", br.Buffered())
		}
		if req.Method != string(h.method) || req.Host != string(h.host) {
			t.Fatalf("method %q host %q, net/http %q %q", h.method, h.host, req.Method, req.Host)
		}
		if kind == headDecide && req.URL.Path != string(h.path) {
			t.Fatalf("path %q, net/http %q", h.path, req.URL.Path)
		}
		if req.ContentLength != h.length || len(req.TransferEncoding) != 0 {
			t.Fatalf("length %d, net/http %d %q", h.length, req.ContentLength, req.TransferEncoding)
		}
		if req.Close != h.closing {
			t.Fatalf("close %v, net/http %v", h.closing, req.Close)
		}
		fwd := req.Header.Values("X-Forwarded-For")
		if kind == headDecide && len(fwd) != h.nfwd {
			t.Fatalf("%d forwarded lines, net/http %d", h.nfwd, len(fwd))
		}
		for i := range h.nfwd {
			if fwd[i] != string(h.fwd[i]) {
				t.Fatalf("forwarded %q, net/http %q", h.fwd[i], fwd[i])
			}
		}
	})
}

package front

import (
	"bytes"
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"testing"
)

// parseHeadRef is parseRequestHead as it was before it read a head in one pass
// (a search for the blank line first, then the lines, a field value byte
// by byte): FuzzParseHeadSameAsBefore holds the one-pass parser to it. A
// whole request line is judged at once in both (requestLine).
func parseHeadRef(b []byte, fwdName string, h *Head) headKind {
	*h = Head{}
	end := headEnd(b)
	if end < 0 {
		if line, _, ok := cutLine(b); ok {
			if kind := requestLine(line, h); kind == headRaw || kind == headBad {
				return kind
			}
		}
		if len(b) > 0 && !validHeadPrefix(b) {
			return headRaw
		}
		return headShort
	}
	h.n = end
	line, rest, ok := cutLine(b[:end])
	if !ok {
		return headRaw
	}
	// The request line is requestLine's in both: the one pass changed how
	// fields are read.
	kind := requestLine(line, h)
	if kind == headRaw || kind == headBad {
		return kind
	}

	hosts, lengths := 0, 0
	for len(rest) > 2 { // the final CRLF is left
		line, rest, ok = cutLine(rest)
		if !ok {
			return headRaw
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) {
			return headRaw // includes obs-fold: a line starting with a space
		}
		name, value := line[:colon], trimSpace(line[colon+1:])
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return headRaw
			}
		}
		switch {
		case equalFold(name, "Host"):
			hosts++
			h.host = value
		case equalFold(name, "Content-Length"):
			lengths++
			n, ok := parseLength(value)
			if !ok {
				return headRaw
			}
			h.length = n
		case equalFold(name, "Transfer-Encoding"), equalFold(name, "Upgrade"):
			return headRaw
		case equalFold(name, "Connection"):
			for len(value) > 0 {
				var tok []byte
				if i := bytes.IndexByte(value, ','); i >= 0 {
					tok, value = trimSpace(value[:i]), value[i+1:]
				} else {
					tok, value = trimSpace(value), nil
				}
				switch {
				case equalFold(tok, "close"):
					h.closing = true
				case equalFold(tok, "upgrade"):
					return headRaw
				}
			}
		case equalFold(name, "Expect"):
			kind = headPass
		case equalFold(name, fwdName):
			if h.nfwd == MaxForwarded {
				kind = headPass
				break
			}
			h.fwd[h.nfwd] = value
			h.nfwd++
		case equalFold(name, "X-Request-Id"):
			if h.reqID == nil {
				h.reqID = value
			}
		case equalFold(name, "User-Agent"): // read since, in both
			h.ua = value
		}
	}
	if hosts != 1 || lengths > 1 || !validHost(h.host) {
		return headRaw // net/http answers 400
	}
	return kind
}

// The one-pass parser gives what the two-pass one gave, for any bytes:
// the same verdict and, for a head it reads, the same fields.
func FuzzParseHeadSameAsBefore(f *testing.F) {
	for _, s := range []string{
		"GET /a?b=1 HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX-Forwarded-For: 1.2.3.4\r\n\r\nabc",
		"GET /%41 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: h\r\nUser-Agent: a\tb\x01c\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: h\r\nX: 0123456789abcdef\x7f\r\n",
		"GET /a HTTP/1.1\r\nHost: h\nX: y\r\n\r\n",
		"GET /a HTTP/1.1\r\nBad Line\r\nHost: h",
		"\r\nGET / HTTP/1.1\r\n",
		" GET",
		"GET /a HTTP/1.1\r\nHost: h\r\n\r",
		"0 / HTTP/1.1\r\nHost:\r\nUser-Agent:\r\n\r\n",
		"0 / HTTP/1.1\r\nHost:\r\nUser-Agent:0\r\n\r\n",
		"GET / HTTP/1.1\r\nUser-Agent: a\r\nHost: h\r\nUser-Agent: b\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got, want Head
		kg := parseRequestHead(b, "X-Forwarded-For", &got)
		kw := parseHeadRef(b, "X-Forwarded-For", &want)
		if kg != kw {
			t.Fatalf("%q: verdict %d, before %d", b, kg, kw)
		}
		// Compared as printed: an empty field may be nil on one side and
		// an empty slice on the other, which is the same head.
		if (kg == headDecide || kg == headPass) && fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Fatalf("%q: %+v, before %+v", b, got, want)
		}
	})
}

func BenchmarkParseHead(b *testing.B) {
	for _, tc := range []struct{ name, req string }{
		{"wrk", "GET /limited/x HTTP/1.1\r\nHost: 127.0.0.1:19181\r\n\r\n"},
		{"browser", "GET /wsapi/session_context HTTP/1.1\r\n" + testutil.BrowserFields + "\r\n"},
	} {
		buf := []byte(tc.req)
		for _, p := range []struct {
			name  string
			parse func([]byte, string, *Head) headKind
		}{{"one_pass", parseRequestHead}, {"before", parseHeadRef}} {
			b.Run(tc.name+"/"+p.name, func(b *testing.B) {
				var h Head
				for range b.N {
					if p.parse(buf, "X-Forwarded-For", &h) != headDecide {
						b.Fatal("not a head the front decides")
					}
				}
			})
		}
	}
}

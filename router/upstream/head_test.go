package upstream

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

var headSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok",
	"HTTP/1.1 200 OK\r\ncontent-length:  5 \r\nx-lower: a\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello",
	"HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 3\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nbye",
	"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nPragma: no-cache\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nFolded: a\r\n b\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 200 OK\nContent-Length: 1\n\nx",
	"HTTP/1.1 200 OK\r\nBad Name: 1\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 200 OK\r\nX: a\x01b\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 200 OK\r\nX: caf\xc3\xa9\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\n",
	"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
	"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTrailer: X\r\n\r\nokHTTP/1.1 200 OK\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
}

// TestParseHeadMatchesReadResponse: every head parseResponseHead takes, it reads as
// http.ReadResponse does, and the seeds it takes are the common kind.
func TestParseHeadMatchesReadResponse(t *testing.T) {
	took := 0
	for _, s := range headSeeds {
		if compareHeads(t, []byte(s)) {
			took++
		}
	}
	// The first four seeds are what backends send most; the rest are
	// parseResponseHead's to decline or to match.
	for _, s := range headSeeds[:4] {
		if resp, _ := parseResponseHead([]byte(s)); resp == nil {
			t.Errorf("parseResponseHead declined a common head: %q", s)
		}
	}
	t.Logf("parseResponseHead took %d of %d heads", took, len(headSeeds))
}

// FuzzParseHead: for any bytes from a backend, a head parseResponseHead takes is
// the response http.ReadResponse reads, body and framing included.
func FuzzParseHead(f *testing.F) {
	for _, s := range headSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { compareHeads(t, in) })
}

// compareHeads reads in with readResponse and with http.ReadResponse and
// fails when they differ; it reports whether parseResponseHead took it.
func compareHeads(t *testing.T, in []byte) bool {
	t.Helper()
	if r, _ := parseResponseHead(in[:min(len(in), 4096)]); r == nil {
		return false // http.ReadResponse's to read
	}
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	br := bufio.NewReaderSize(bytes.NewReader(in), 4096)
	var lr lengthReader
	got, gerr := readResponse(br, req, &lr)
	if gerr != nil || got.Body != http.NoBody && got.Body != &lr {
		t.Fatalf("%q: parseResponseHead took it, readResponse did not: %v", in, gerr)
	}
	ref := bufio.NewReaderSize(bytes.NewReader(in), 4096)
	want, werr := http.ReadResponse(ref, req)
	if werr != nil {
		t.Fatalf("%q: parseResponseHead took what http.ReadResponse refuses: %v", in, werr)
	}
	if a, b := describe(got, br), describe(want, ref); a != b {
		t.Fatalf("%q:\nparseHead:\n%s\nhttp.ReadResponse:\n%s", in, a, b)
	}
	return true
}

// describe reads resp's body and the bytes left after it.
func describe(resp *http.Response, br *bufio.Reader) string {
	body, err := io.ReadAll(resp.Body)
	rest, _ := io.ReadAll(br)
	var b strings.Builder
	fmt.Fprintf(&b, "%q %d %q %d.%d length %d close %v te %q trailer %v\n",
		resp.Status, resp.StatusCode, resp.Proto, resp.ProtoMajor, resp.ProtoMinor,
		resp.ContentLength, resp.Close, resp.TransferEncoding, resp.Trailer)
	fmt.Fprintf(&b, "header %#v\nbody %q err %v\nrest %q\nrequest %v", resp.Header, body, err, rest, resp.Request != nil)
	return b.String()
}

func BenchmarkParseHead(b *testing.B) {
	head := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Wed, 02 Dec 2026 00:39:35 GMT\r\nContent-Length: 64\r\n\r\n")
	in := append(head, bytes.Repeat([]byte("b"), 64)...)
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	rd := bytes.NewReader(in)
	br := bufio.NewReaderSize(rd, 4096)
	var lr lengthReader
	for _, name := range []string{"parseResponseHead", "ReadResponse"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(in)
				br.Reset(rd)
				var resp *http.Response
				var err error
				if name == "parseResponseHead" {
					resp, err = readResponse(br, req, &lr)
				} else {
					resp, err = http.ReadResponse(br, req)
				}
				if err != nil || resp.ContentLength != 64 {
					b.Fatal(err)
				}
			}
		})
	}
}

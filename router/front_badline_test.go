package router

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// badLines are request lines net/http's server refuses. off is what it
// answers with the front off: 400 as soon as the line is in, or (0) a 505
// once the head is whole, after the blank line the test then sends.
var badLines = []struct {
	name, line string
	off        int
}{
	{"no version", "GET /h09\r\n", 400},
	{"only a method", "GET\r\n", 400},
	{"HTTP/0.9", "GET / HTTP/0.9\r\n", 0},
	{"HTTP/2.0", "GET / HTTP/2.0\r\n", 0},
	{"lowercase version", "GET / http/1.1\r\n", 400},
	{"odd version", "GET / HTTP/1.1.1\r\n", 400},
	{"two-digit version", "GET / HTTP/11\r\n", 400},
	{"word after the version", "GET / HTTP/1.1 extra\r\n", 400},
	{"trailing space", "GET / HTTP/1.1 \r\n", 400},
	{"two spaces", "GET  / HTTP/1.1\r\n", 400},
	{"leading space", " GET / HTTP/1.1\r\n", 400},
	{"tab", "GET\t/ HTTP/1.1\r\n", 400},
	{"bad method token", "G(T / HTTP/1.1\r\n", 400},
	{"control byte in the method", "G\x01T / HTTP/1.1\r\n", 400},
	{"control byte in the target", "GET /a\x01b HTTP/1.1\r\n", 400},
	{"DEL in the target", "GET /a\x7fb HTTP/1.1\r\n", 400},
	{"bare CR in the target", "GET /a\rb HTTP/1.1\r\n", 400},
	{"NUL in the version", "GET / HTTP/1.1\x00\r\n", 400},
	{"bad escape", "GET /%zz HTTP/1.1\r\n", 400},
}

// A request line net/http refuses is answered at once and the connection
// closed: the front does not hold it for the rest of a head that may never
// come. With the front off net/http answers as it does.
func TestFrontAnswersABadRequestLineAtOnce(t *testing.T) {
	be := namedBackend(t, "app")
	for _, early := range []bool{true, false} {
		// A header timeout far beyond the client's deadline: an answer
		// within the deadline did not wait for it.
		srv, base := startRouter(t, frontConfig(be.URL, fmt.Sprintf("server: {early_refusal: %v, read_header_timeout: 60s}", early)))
		for _, tc := range badLines {
			t.Run(fmt.Sprintf("early_refusal=%v/%s", early, tc.name), func(t *testing.T) {
				c := dialRaw(t, base)
				c.c.SetDeadline(time.Now().Add(5 * time.Second))
				c.send(tc.line)
				want := 400
				if !early && tc.off == 0 {
					c.send("\r\n") // net/http waits for the whole head
					want = http.StatusHTTPVersionNotSupported
				}
				status, err := c.br.ReadString('\n')
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				if wantLine := fmt.Sprintf("HTTP/1.1 %d ", want); !strings.HasPrefix(status, wantLine) {
					t.Fatalf("answer %q, want %q", status, wantLine)
				}
				io.Copy(io.Discard, c.br) // the rest of the answer, then EOF
				if !c.closed() {
					t.Fatal("the connection stayed open")
				}
			})
		}
		if n := srv.Router().EarlyRefusals(); n != 0 {
			t.Errorf("early_refusal %v: %d early refusals counted for bad request lines", early, n)
		}
	}
}

var dateField = regexp.MustCompile(`Date: [^\r]*\r\n`)

// requestIDField is masked too: it differs from request to request.
var requestIDField = regexp.MustCompile(`X-Request-Id: [^\r]*\r\n`)

// The h2c preface is net/http's: the front hands it over as it reads it,
// and the client gets what it gets without the front.
func TestFrontHandsOverTheH2CPreface(t *testing.T) {
	be := namedBackend(t, "app")
	var got [2]string
	for i, early := range []bool{true, false} {
		_, base := startRouter(t, frontConfig(be.URL, fmt.Sprintf("server: {early_refusal: %v}", early)))
		c := dialRaw(t, base)
		c.c.SetDeadline(time.Now().Add(5 * time.Second))
		c.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
		b, _ := io.ReadAll(c.br)
		got[i] = dateField.ReplaceAllString(string(b), "Date: -\r\n")
		got[i] = requestIDField.ReplaceAllString(got[i], "X-Request-Id: -\r\n")
	}
	if got[0] != got[1] {
		t.Fatalf("with the front: %q\nwithout: %q", got[0], got[1])
	}
	t.Logf("%q", got[0])
}

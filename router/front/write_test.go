package front

import (
	"bufio"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bigRefuser turns away every request with a 1500-byte answer whose body
// is the last byte of its path repeated: appended to dst for a path under
// /limited/, its own bytes for one under /own/.
type bigRefuser struct{}

func (bigRefuser) ForwardedField() string { return "X-Forwarded-For" }

func (bigRefuser) Refuse(h *Head, _ netip.Addr, dst []byte) (Refusal, bool) {
	p := h.Path()
	body := strings.Repeat(p[len(p)-1:], 1500)
	answer := "HTTP/1.1 429 Too Many Requests\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if strings.HasPrefix(p, "/own/") {
		return Refusal{Answer: []byte(answer), At: time.Now()}, true
	}
	return Refusal{Answer: append(dst, answer...), At: time.Now()}, true
}

// Answers that outgrow the room the front leaves, or are the Decider's own
// bytes, are written whole and in order with those appended in place.
func TestFrontWritesAnswersBeyondTheRoom(t *testing.T) {
	client, server := tcpPair(t)
	to := Timeouts{Idle: 10 * time.Second}
	fc := newConn(server, bigRefuser{}, &to)
	done := startReading(fc)
	paths := []string{"/limited/a", "/limited/b", "/own/c", "/limited/d", "/limited/e", "/own/f", "/limited/g"}
	var all strings.Builder
	for _, p := range paths {
		all.WriteString(get1(p))
	}
	if _, err := io.WriteString(client, all.String()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(client)
	for _, p := range paths {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if want := strings.Repeat(p[len(p)-1:], 1500); resp.StatusCode != 429 || string(b) != want {
			t.Fatalf("%s: %d, body %.20q…, want %.20q…", p, resp.StatusCode, b, want)
		}
	}
	leave(t, client, done)
}

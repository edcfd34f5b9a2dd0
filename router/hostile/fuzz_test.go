package hostile

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fuzzScripts are the backend misbehaviours FuzzTwoClients picks from, by
// index: each a short version of a backend case.
var fuzzScripts = []script{
	func(c *bconn, r *seenReq) bool { return c.send(echo(r)) },
	writesLater(resp("hello"), 5*time.Millisecond, smuggled),
	writes(resp("hello") + smuggled),
	writes("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nSMUGGLED {S}"), // to a HEAD: a body
	writes("HTTP/1.1 204 No Content\r\nContent-Length: 12\r\n\r\nSMUGGLED {S}"),
	writes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhel" + "lo" + smuggled),
	writesThenCloses("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"),
	writes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled),
	writes("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n" + smuggled),
	writes(strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", 10) + resp("hello")),
	writes("HELLO {S}\r\n\r\n"),
	writesThenCloses("HTTP/1.1 200 OK\r\nContent-Le"),
	writes("HTTP/1.1 100 Continue\r\nContent-Length: 12\r\n\r\nSMUGGLED {S}" + resp("hello")),
	writes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n" + smuggled),
	writesLater("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello", 5*time.Millisecond, smuggled),
	writes("HTTP/1.1 099 Odd\r\nContent-Length: 5\r\n\r\nhello"),
}

// fuzzShapes are request shapes of the first client; %s is its path, %d
// and the second %s its body's length and body.
var fuzzShapes = []string{
	"GET %s HTTP/1.1\r\nHost: h\r\n\r\n",
	"HEAD %s HTTP/1.1\r\nHost: h\r\n\r\n",
	"POST %s HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s",
	"POST %s HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n",
	"POST %s HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n%s",
	"POST %s HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n%s",
	"GET %s HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
	"GET %s HTTP/1.1\r\nHost: h\r\n\r\nGET %[1]s HTTP/1.1\r\nHost: h\r\n\r\n",
	"%[3]s",
}

func FuzzTwoClients(f *testing.F) {
	f.Add(uint8(0), uint8(1), uint8(0), []byte("hello"))
	f.Add(uint8(1), uint8(3), uint8(1), []byte(""))
	f.Add(uint8(0), uint8(5), uint8(2), []byte("body"))
	f.Add(uint8(1), uint8(8), uint8(6), []byte("x"))
	f.Add(uint8(0), uint8(7), uint8(4), []byte("0\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n"))
	f.Add(uint8(1), uint8(13), uint8(8), []byte("GET /H~z/m2/ HTTP/1.1\r\nHost: h\r\n\r\n"))
	f.Add(uint8(0), uint8(14), uint8(7), []byte(""))
	m := markers{H: "H~z", S: "S~z", I: "I~z", F: "F~z"}
	be := newScriptedBackend(f, m, func(c *bconn, r *seenReq) bool {
		return fuzzScripts[scriptOf(r.target)](c, r)
	})
	var addrs []string
	for _, tr := range transports {
		_, addr := startRouter(f, routerYAML(be.url(), tr, "{disabled: true}"))
		addrs = append(addrs, addr)
	}
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, transport, misbehaviour, shape uint8, body []byte) {
		i := n.Add(1)
		be.reset()
		addr := addrs[int(transport)%len(addrs)]
		path := fmt.Sprintf("/%s/m%d/%d", m.H, int(misbehaviour)%len(fuzzScripts), i)
		if len(body) > 4096 {
			body = body[:4096]
		}
		req := fmt.Sprintf(fuzzShapes[int(shape)%len(fuzzShapes)], path, len(body), body)

		// The first client sends its request and reads whatever comes;
		// the second, once the first request reached the backend and no
		// script runs, sends an ordinary request on its own connection
		// while the first is still open: it must get exactly its own
		// answer.
		var got string
		done := make(chan struct{})
		go func() {
			defer close(done)
			got = readAll(addr, req)
		}()
		waitFor(answerWait, func() bool {
			select {
			case <-done:
				return true
			default:
				return be.saw(path)
			}
		})
		be.idle(answerWait)
		mark := fmt.Sprintf("%s%d", m.I, i)
		key := fmt.Sprintf("POST /%s/%d b-%s", m.I, i, mark)
		a, err := exchange(addr, fmt.Sprintf("POST /%s/%d HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\nb-%s", m.I, i, len(mark)+2, mark), "POST")
		<-done
		if err != nil {
			t.Fatalf("second client: %v", err)
		}
		if a.code != 200 || a.body != "ok "+key {
			t.Fatalf("second client got %v, want 200 %q (first client sent %q)", a, "ok "+key, req)
		}
		if strings.Contains(got, mark) {
			t.Fatalf("first client received the second client's marker: %q", truncate(got, 400))
		}
	})
}

// scriptOf picks the misbehaviour named in a fuzz path (/H~z/mN/...).
func scriptOf(target string) int {
	_, rest, _ := strings.Cut(target, "/m")
	num, _, _ := strings.Cut(rest, "/")
	k, err := strconv.Atoi(num)
	if err != nil || k < 0 || k >= len(fuzzScripts) || fuzzScripts[k] == nil {
		return 0
	}
	return k
}

// readAll sends req on a new connection and returns what comes back
// until the router closes it or stays silent for a moment.
func readAll(addr, req string) string {
	c, err := dialRouter(addr)
	if err != nil {
		return ""
	}
	defer c.close()
	if c.write(req) != nil {
		return ""
	}
	buf := make([]byte, 32<<10)
	for {
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if _, err := c.br.Read(buf); err != nil {
			return c.got.String()
		}
	}
}

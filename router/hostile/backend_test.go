package hostile

import (
	"fmt"
	"strings"
	"time"
)

// Scripts for the backend cases. Text written by a script has its markers
// filled: {S} marks bytes no client may ever receive as its own answer.

// resp is a whole, well-formed answer with body.
func resp(body string) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

// smuggled is an answer a backend slips onto a connection unasked.
const smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nSMUGGLED {S}"

// writes answers with s and reads the connection's next request.
func writes(s string) script {
	return func(c *bconn, r *seenReq) bool { return c.send(s) }
}

// writesThenCloses answers with s and closes the connection.
func writesThenCloses(s string) script {
	return func(c *bconn, r *seenReq) bool { c.send(s); return false }
}

// writesLater answers with first, then, after d in which the router sends
// nothing more on the connection, writes later, and reads on: bytes that
// arrive on a connection the router holds idle. A request that comes in
// the meantime is answered as usual instead.
func writesLater(first string, d time.Duration, later string) script {
	return func(c *bconn, r *seenReq) bool {
		if !c.send(first) {
			return false
		}
		quiet, closed := c.quietFor(d)
		if quiet {
			return c.send(later)
		}
		return !closed
	}
}

// closesLater answers with first, which tells the router the connection
// ends with it, then keeps it open and after d writes later. The router
// must close the connection, not send another request on it.
func closesLater(first string, d time.Duration, later string) script {
	return func(c *bconn, r *seenReq) bool {
		if !c.send(first) {
			return false
		}
		quiet, closed := c.quietFor(d)
		switch {
		case quiet:
			return c.send(later)
		case !closed:
			c.note("the router sent another request on a connection the backend ended")
		}
		return false
	}
}

// lateBytesCases: bytes beyond the answer the router asked for, which it
// must never hand to the next request of the connection.
func lateBytesCases() []backendCase {
	head := "HEAD /{H}/b HTTP/1.1\r\nHost: h\r\n\r\n"
	cs := []backendCase{
		{name: "second-answer-later", script: writesLater(resp("hello"), 200*time.Millisecond, smuggled), want: []expect{ok(200, "hello")}},
		{name: "second-answer-at-once", script: writes(resp("hello") + smuggled), want: []expect{ok(200, "hello")}},
		{name: "garbage-after-answer", script: writes(resp("hello") + "garbage {S}\r\n\r\n"), want: []expect{ok(200, "hello")}},
		{name: "body-longer-than-length", script: writes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhel" + "lo" + smuggled), want: []expect{ok(200, "hel")}},
		{name: "head-answered-with-body", req: head, method: "HEAD", script: writes("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nSMUGGLED {S}"), want: []expect{ok(200, "")}},
		{name: "head-answered-with-chunks", req: head, method: "HEAD",
			script: writes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nc\r\nSMUGGLED {S}\r\n0\r\n\r\n"), want: []expect{ok(200, "")}},
		{name: "head-answered-with-answer", req: head, method: "HEAD", script: writes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + smuggled), want: []expect{ok(200, "")}},
		{name: "204-with-body", script: writes("HTTP/1.1 204 No Content\r\nContent-Length: 12\r\n\r\nSMUGGLED {S}"), want: []expect{ok(204, "")}},
		{name: "204-with-chunks", script: writes("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\nc\r\nSMUGGLED {S}\r\n0\r\n\r\n"),
			want: []expect{ok(204, ""), {code: 502, any: true}}},
		{name: "304-with-body", script: writes("HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\nSMUGGLED {S}"), want: []expect{ok(304, "")}},
		{name: "connection-close-not-closed", script: closesLater("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello", 100*time.Millisecond, smuggled),
			want: []expect{ok(200, "hello")}},
		{name: "http10-answer-kept-open", script: closesLater("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", 100*time.Millisecond, smuggled),
			want: []expect{ok(200, "hello")}},
		{name: "1xx-with-body", script: writes("HTTP/1.1 100 Continue\r\nContent-Length: 12\r\n\r\nSMUGGLED {S}" + resp("hello")), want: badGateway()},
	}
	for i := range cs {
		cs[i].family = "late-bytes"
	}
	return cs
}

// lengthAnswerCases: answers whose body length is missing, doubled,
// contradictory or wrong.
func lengthAnswerCases() []backendCase {
	h := func(fields, body string) string { return "HTTP/1.1 200 OK\r\n" + fields + "\r\n" + body }
	chunkedHead := "Transfer-Encoding: chunked\r\n"
	cs := []backendCase{
		{name: "length-short-then-close", script: writesThenCloses(h("Content-Length: 10\r\n", "hello")), want: fault()},
		{name: "length-short-then-late-close", script: func(c *bconn, r *seenReq) bool {
			c.send(h("Content-Length: 10\r\n", "hello"))
			c.pause(300 * time.Millisecond)
			return false
		}, want: fault()},
		{name: "last-byte-late", script: writesLater(h("Content-Length: 5\r\n", "hell"), 300*time.Millisecond, "o"), want: []expect{ok(200, "hello")}},
		{name: "length-and-chunked", script: writes(h("Content-Length: 100\r\n"+chunkedHead, chunk("hello"))),
			want: []expect{ok(200, "hello"), {code: 502, any: true}}},
		{name: "chunked-and-short-length", script: writes(h(chunkedHead+"Content-Length: 5\r\n", "0\r\n\r\n"+smuggled)),
			want: []expect{ok(200, ""), ok(200, "0\r\n\r\n"), {code: 502, any: true}}},
		{name: "two-lengths", script: writes(h("Content-Length: 5\r\nContent-Length: 17\r\n", "hello"+smuggled)), want: badGateway()},
		{name: "two-equal-lengths", script: writes(h("Content-Length: 5\r\nContent-Length: 5\r\n", "hello")),
			want: []expect{ok(200, "hello"), {code: 502, any: true}}},
		{name: "length-plus", script: writes(h("Content-Length: +5\r\n", "hello")), want: badGateway()},
		{name: "length-negative", script: writes(h("Content-Length: -1\r\n", "hello")), want: badGateway()},
		{name: "length-hex", script: writes(h("Content-Length: 0x5\r\n", "hello")), want: badGateway()},
		{name: "length-list", script: writes(h("Content-Length: 5, 17\r\n", "hello"+smuggled)), want: badGateway()},
		{name: "chunked-bad-size", script: writes(h(chunkedHead, "zz\r\nhello\r\n0\r\n\r\n")), want: fault()},
		{name: "chunked-huge-size", script: writes(h(chunkedHead, "fffffffffffffffffff\r\nhello\r\n0\r\n\r\n")), want: fault()},
		{name: "chunked-negative-size", script: writes(h(chunkedHead, "-5\r\nhello\r\n0\r\n\r\n")), want: fault()},
		{name: "chunked-size-bare-lf", script: writes(h(chunkedHead, "5\nhello\r\n0\r\n\r\n"+smuggled)), want: fault()},
		{name: "chunked-data-too-long", script: writes(h(chunkedHead, "3\r\nhello\r\n0\r\n\r\n")), want: fault()},
		{name: "chunked-no-last-chunk", script: writesThenCloses(h(chunkedHead, "5\r\nhello\r\n")), want: fault()},
		{name: "te-gzip-only", script: writesThenCloses(h("Transfer-Encoding: gzip\r\n", "hello")),
			want: []expect{ok(200, "hello"), {code: 502, any: true}}},
		{name: "te-two-fields", script: writes(h(chunkedHead+chunkedHead, chunk("hello"))),
			want: []expect{ok(200, "hello"), {code: 502, any: true}}},
		{name: "trailers-forbidden", script: writes(h(chunkedHead+"Trailer: X-Ok\r\n", "5\r\nhello\r\n0\r\nX-Ok: 1\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\nHost: evil\r\nSet-Cookie: a=b\r\n\r\n")),
			want: []expect{ok(200, "hello"), {code: 502, any: true}}, check: forbiddenTrailers},
		{name: "trailers-announced-length", script: writes(h(chunkedHead+"Trailer: Content-Length\r\n", "5\r\nhello\r\n0\r\nContent-Length: 99\r\n\r\n")),
			want: []expect{ok(200, "hello"), {code: 502, any: true}}, check: forbiddenTrailers},
	}
	for i := range cs {
		cs[i].family = "length"
	}
	return cs
}

// tooBig: an answer head past any sane bound (2 MiB): 502, or 504 when
// the response timeout passes first.
func tooBig() []expect { return []expect{{code: 502, any: true}, {code: 504, any: true}} }

// forbiddenTrailers: no framing, routing or cookie field may reach the
// client as a trailer.
func forbiddenTrailers(a *answer) string {
	for _, k := range []string{"Content-Length", "Transfer-Encoding", "Host", "Set-Cookie"} {
		if v, ok := a.trailer[k]; ok {
			return fmt.Sprintf("client got trailer %s: %q", k, v)
		}
	}
	return ""
}

// statusCases: status lines that are not HTTP/1.1's, and what is not an
// answer at all.
func statusCases() []backendCase {
	st := func(name, line string, want []expect) backendCase {
		return backendCase{name: name, script: writes(line + "\r\nContent-Length: 5\r\n\r\nhello"), want: want}
	}
	cs := []backendCase{
		st("no-reason", "HTTP/1.1 200", []expect{ok(200, "hello")}),
		st("no-reason-space", "HTTP/1.1 200 ", []expect{ok(200, "hello")}),
		st("code-letters", "HTTP/1.1 abc OK", badGateway()),
		st("code-two-digits", "HTTP/1.1 20 OK", badGateway()),
		st("code-four-digits", "HTTP/1.1 2000 OK", badGateway()),
		st("code-999", "HTTP/1.1 999 Odd", badGateway()),
		st("code-099", "HTTP/1.1 099 Odd", badGateway()),
		st("code-600", "HTTP/1.1 600 Odd", badGateway()),
		// Read leniently or refused: either way no framing is in doubt.
		st("code-double-space", "HTTP/1.1  200 OK", []expect{ok(200, "hello"), {code: 502, any: true}}),
		st("version-http10", "HTTP/1.0 200 OK", []expect{ok(200, "hello")}),
		st("version-http2", "HTTP/2 200", badGateway()),
		st("version-http20", "HTTP/2.0 200 OK", []expect{ok(200, "hello"), {code: 502, any: true}}),
		st("version-lowercase", "http/1.1 200 OK", badGateway()),
		st("version-missing", "200 OK", badGateway()),
		{name: "bare-lf-lines", script: writes("HTTP/1.1 200 OK\nContent-Length: 5\n\nhello"), want: []expect{ok(200, "hello"), {code: 502, any: true}}},
		{name: "garbage-instead", script: writes("HELLO {S}\r\n\r\n"), want: badGateway()},
		{name: "binary-instead", script: writes("\x00\x01\x02\x03\xff\xfe\r\n\r\n"), want: badGateway()},
		{name: "huge-status-line", script: writes("HTTP/1.1 200 " + strings.Repeat("R", 2<<20) + "\r\n\r\n"), want: tooBig()},
		{name: "http09-body-only", script: writesThenCloses("hello {S}"), want: badGateway()},
		// A GET dropped unanswered may be sent again on other pooled
		// connections (net/http's Transport does for idempotent requests
		// on reused connections), never more than the pool holds.
		{name: "closed-without-answer", script: func(c *bconn, r *seenReq) bool { return false }, want: badGateway(), seenMax: 3},
		{name: "unsolicited-101", script: writes("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nRAW {S}"), want: badGateway()},
		{name: "unsolicited-101-expect", req: "POST /{H}/b HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
			script: writes("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nRAW {S}"), want: badGateway()},
		{name: "unsolicited-101-semicolon-query", req: "GET /{H}/b?a=1;b=2 HTTP/1.1\r\nHost: h\r\n\r\n",
			script: writes("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nRAW {S}"), want: badGateway()},
		{name: "unsolicited-101-h2c", req: "GET /{H}/b HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
			script: writes("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nRAW {S}"), want: badGateway()},
		{name: "101-other-protocol", req: "GET /{H}/b HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
			script: writes("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: evil\r\n\r\nRAW {S}"), want: badGateway()},
		{name: "101-requested", req: "GET /{H}/b HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
			script: writesThenCloses("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
			want:   []expect{{code: 101, any: true}}},
		{name: "503-passed-on", script: writes("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"), want: []expect{ok(503, "busy")}},
	}
	for i := range cs {
		cs[i].family = "status"
	}
	return cs
}

// fieldAnswerCases: answer fields that try to inject, fold or overflow.
func fieldAnswerCases() []backendCase {
	f := func(name, fields string, check func(*answer) string) backendCase {
		return backendCase{name: name, script: writes("HTTP/1.1 200 OK\r\n" + fields + "Content-Length: 5\r\n\r\nhello"),
			want: []expect{ok(200, "hello"), {code: 502, any: true}}, check: check}
	}
	noInjected := func(a *answer) string {
		if v, ok := a.header["X-Injected"]; ok {
			return fmt.Sprintf("client got X-Injected: %q", v)
		}
		return ""
	}
	var many strings.Builder
	for i := 0; many.Len() < 2<<20; i++ {
		fmt.Fprintf(&many, "X-H%d: %s\r\n", i, strings.Repeat("v", 100))
	}
	cs := []backendCase{
		f("cr-in-value", "X-A: a\rX-Injected: 1\r\n", noInjected),
		f("nul-in-value", "X-A: a\x00b\r\n", nil),
		f("ctl-in-value", "X-A: a\x01b\r\n", nil),
		f("obs-fold", "X-A: a\r\n b\r\n", nil),
		f("obs-fold-injects", "X-A: a\r\n X-Injected: 1\r\n", noInjected),
		f("space-before-colon", "X-A : b\r\n", nil),
		f("space-in-name", "X A: b\r\n", nil),
		f("nul-in-name", "X-\x00A: b\r\n", nil),
		f("hop-by-hop", "Connection: X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=1\r\nProxy-Authenticate: x\r\n", func(a *answer) string {
			for _, k := range []string{"X-Secret", "Keep-Alive", "Proxy-Authenticate"} {
				if _, ok := a.header[k]; ok {
					return "client got hop-by-hop field " + k
				}
			}
			return ""
		}),
		// A head past the router's bound: refused as the bound is hit, or
		// as the response timeout passes while it is still coming.
		{name: "huge-fields", script: writes("HTTP/1.1 200 OK\r\n" + many.String() + "Content-Length: 5\r\n\r\nhello"), want: tooBig()},
		{name: "huge-field", script: writes("HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 2<<20) + "\r\nContent-Length: 5\r\n\r\nhello"), want: tooBig()},
	}
	for i := range cs {
		cs[i].family = "fields"
	}
	return cs
}

// interimCases: 1xx answers in floods and out of place.
func interimCases() []backendCase {
	flood := func(code string, n int) string {
		return strings.Repeat("HTTP/1.1 "+code+"\r\nLink: </x>\r\n\r\n", n) + resp("hello")
	}
	cs := []backendCase{
		{name: "103-few", script: writes(flood("103 Early Hints", 2)), want: []expect{ok(200, "hello")}},
		// A proxy forwards 1xx answers (RFC 9110, section 15.2); a flood of
		// them may also be cut short.
		{name: "103-flood", script: writes(flood("103 Early Hints", 200)), want: []expect{ok(200, "hello"), {code: 502, any: true}}},
		{name: "100-flood", script: writes(flood("100 Continue", 200)), want: []expect{ok(200, "hello"), {code: 502, any: true}}},
		{name: "1xx-endless", script: func(c *bconn, r *seenReq) bool {
			for range 5000 {
				if !c.send("HTTP/1.1 103 Early Hints\r\n\r\n") {
					return false
				}
			}
			return c.pause(3 * time.Second)
		}, want: []expect{{code: 502, any: true}, {code: 504, any: true}}}, // the client reader gives up after 1000 1xx
		{name: "100-unasked", script: writes("HTTP/1.1 100 Continue\r\n\r\n" + resp("hello")), want: []expect{ok(200, "hello")}},
		{name: "102-processing", script: writes("HTTP/1.1 102 Processing\r\n\r\n" + resp("hello")), want: []expect{ok(200, "hello")}},
	}
	for i := range cs {
		cs[i].family = "interim"
	}
	return cs
}

// timingCases: answers that come slowly, break off, or come before the
// request's body was read.
func timingCases() []backendCase {
	full := resp("hello")
	body := strings.Repeat("p", 20000)
	postReq := "POST /{H}/b HTTP/1.1\r\nHost: h\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n" + body
	cs := []backendCase{
		{name: "drip-head", script: func(c *bconn, r *seenReq) bool { return c.drip(full, 3, 5*time.Millisecond) }, want: []expect{ok(200, "hello")}},
		{name: "drip-body", script: func(c *bconn, r *seenReq) bool {
			return c.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n") && c.drip("0123456789", 1, 10*time.Millisecond)
		}, want: []expect{ok(200, "0123456789")}},
		{name: "drip-chunks", script: func(c *bconn, r *seenReq) bool {
			return c.drip("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 7, 5*time.Millisecond)
		}, want: []expect{ok(200, "hello")}},
		{name: "close-mid-status", script: writesThenCloses("HTTP/1.1 20"), want: badGateway()},
		{name: "close-mid-head", script: writesThenCloses("HTTP/1.1 200 OK\r\nContent-Le"), want: badGateway()},
		{name: "close-mid-body", script: writesThenCloses("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel"), want: fault()},
		{name: "close-mid-chunk", script: writesThenCloses("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"), want: fault()},
		{name: "answer-before-body", req: postReq, early: true, script: func(c *bconn, r *seenReq) bool {
			return c.send(resp("early")) && c.readBody(r)
		}, want: []expect{ok(200, "early")}},
		{name: "answer-before-body-then-close", req: postReq, early: true, script: writesThenCloses(resp("early")),
			want: []expect{ok(200, "early"), {code: 502, any: true}}},
		{name: "answer-before-body-chunked", req: "POST /{H}/b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(body), early: true,
			script: func(c *bconn, r *seenReq) bool { return c.send(resp("early")) && c.readBody(r) }, want: []expect{ok(200, "early")}},
		{name: "too-slow", script: func(c *bconn, r *seenReq) bool { c.pause(3 * time.Second); return false }, want: []expect{{code: 504, any: true}}},
	}
	for i := range cs {
		cs[i].family = "timing"
	}
	return cs
}

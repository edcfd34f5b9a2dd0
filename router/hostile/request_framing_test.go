package hostile

import (
	"fmt"
	"strings"
)

// Helpers that spell requests for the tables. Every request goes to a path
// under the hostile marker {H}; a request hidden in another is under {S}.
const (
	host    = "Host: h\r\n"
	chunked = "Transfer-Encoding: chunked\r\n"
	// hidden is a whole request that a desynchronised reader would take
	// for the next one.
	hidden = "GET /{S}/x HTTP/1.1\r\nHost: h\r\n\r\n"
)

// post is a POST to /{H}/a with the given fields (each ending in CRLF)
// and body.
func post(fields, body string) string {
	return "POST /{H}/a HTTP/1.1\r\n" + host + fields + "\r\n" + body
}

// get is a GET of /{H}/a with the given fields.
func get(fields string) string { return "GET /{H}/a HTTP/1.1\r\n" + host + fields + "\r\n" }

// clen is a Content-Length field for body.
func clen(body string) string { return fmt.Sprintf("Content-Length: %d\r\n", len(body)) }

// chunk is body as one chunk and the last chunk.
func chunk(body string) string { return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body) }

// badTE is the outcome of a request whose Transfer-Encoding the router
// does not take as chunked: refused (501 as net/http answers, or 400), the
// connection closed, the backend seeing nothing.
func badTE() []outcome { return []outcome{broken(501), broken(400)} }

// framingCases: requests whose body length two readers could read two
// ways (CL.TE, TE.CL and Transfer-Encoding obfuscations).
func framingCases() []reqCase {
	clte := "0\r\n\r\n" + hidden // chunked: an empty body, then a request; by length: one body
	inner := "GET /{S}/x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nx=1"
	tecl := chunk(inner) // chunked: inner is the body; by length 4 ("NN\r\n"): a request
	// teWins: the router reads the body as chunked (Transfer-Encoding
	// overrides Content-Length); then the hidden request is the next one
	// of the connection, answered in turn. Refusing the message is right
	// too (RFC 9112, section 6.3).
	// The router may also close the connection after such a message.
	teWins := []outcome{fwd("POST /{H}/a", "GET /{S}/x").either(), broken(400)}
	obf := func(name, field string) reqCase {
		return reqCase{family: "framing", name: name, raw: post(clen(clte)+field, clte), want: badTE(), ref: true}
	}
	cs := []reqCase{
		{name: "cl-te", raw: post(clen(clte)+chunked, clte), want: teWins, ref: true},
		{name: "te-cl", raw: post(chunked+clen(clte), clte), want: teWins, ref: true},
		{name: "te-cl-inner-body", raw: post(chunked+"Content-Length: 4\r\n", tecl),
			want: []outcome{fwd("POST /{H}/a " + inner).either(), broken(400)}, ref: true},
		{name: "cl-zero-te", raw: post("Content-Length: 0\r\n"+chunked, chunk("hello")),
			want: []outcome{fwd("POST /{H}/a hello").either(), broken(400)}, ref: true},
		{name: "te-chunked-tab", raw: post(clen(clte)+"Transfer-Encoding: chunked\t\r\n", clte), want: teWins, ref: true},
		{name: "te-Chunked-case", raw: post(clen(clte)+"Transfer-Encoding: Chunked\r\n", clte), want: teWins, ref: true},
		{name: "te-CHUNKED-upper", raw: post("Transfer-Encoding: CHUNKED\r\n", chunk("hello")), want: []outcome{fwd("POST /{H}/a hello")}, ref: true},
		{name: "te-no-space", raw: post("Transfer-Encoding:chunked\r\n", chunk("hello")), want: []outcome{fwd("POST /{H}/a hello")}, ref: true},
		{name: "te-only-get", raw: "GET /{H}/a HTTP/1.1\r\n" + host + chunked + "\r\n" + "0\r\n\r\n", want: []outcome{fwd("GET /{H}/a")}, ref: true},
		{name: "te-space-before-colon", raw: post(clen(clte)+"Transfer-Encoding : chunked\r\n", clte), want: []outcome{broken(400)}, ref: true},
		{name: "te-leading-space-line", raw: "POST /{H}/a HTTP/1.1\r\n Transfer-Encoding: chunked\r\n" + host + clen(clte) + "\r\n" + clte,
			want: []outcome{broken(400)}, ref: true},
		{name: "te-nul", raw: post(clen(clte)+"Transfer-Encoding: chunked\x00\r\n", clte), want: []outcome{broken(400)}, ref: true},
		{name: "te-vtab", raw: post(clen(clte)+"Transfer-Encoding: \x0bchunked\r\n", clte), want: []outcome{broken(400)}, ref: true},
		{name: "te-obs-fold", raw: post(clen(clte)+"Transfer-Encoding:\r\n chunked\r\n", clte),
			want: append([]outcome{broken(400)}, teWins...), ref: true},
		{name: "te-http10-with-cl", raw: "POST /{H}/a HTTP/1.0\r\n" + host + chunked + clen(clte) + "\r\n" + clte,
			// RFC 9112, section 6.1: framing faulty; or read by length
			// and the connection closed after it.
			want: []outcome{fwd("POST /{H}/a " + clte).closing(), broken(400)}, ref: true},
		{name: "te-http10-no-cl", raw: "POST /{H}/a HTTP/1.0\r\n" + host + chunked + "\r\n" + chunk("hello"),
			want: []outcome{fwd("POST /{H}/a").closing(), broken(400)}, ref: true},
		{name: "te-underscore-name", raw: post(clen(clte)+"Transfer_Encoding: chunked\r\n", clte),
			want: []outcome{fwd("POST /{H}/a " + clte), broken(400)}, ref: true},
		obf("te-chunked-comma", "Transfer-Encoding: chunked ,\r\n"),
		obf("te-xchunked", "Transfer-Encoding: xchunked\r\n"),
		obf("te-chunk", "Transfer-Encoding: chunk\r\n"),
		obf("te-identity", "Transfer-Encoding: identity\r\n"),
		obf("te-identity-chunked", "Transfer-Encoding: identity, chunked\r\n"),
		obf("te-gzip-chunked", "Transfer-Encoding: gzip, chunked\r\n"),
		obf("te-chunked-identity", "Transfer-Encoding: chunked, identity\r\n"),
		obf("te-chunked-chunked", "Transfer-Encoding: chunked, chunked\r\n"),
		obf("te-quoted", "Transfer-Encoding: \"chunked\"\r\n"),
		obf("te-param", "Transfer-Encoding: chunked;q=1\r\n"),
		obf("te-two-fields", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
		obf("te-two-fields-other", "Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n"),
		obf("te-empty-second", "Transfer-Encoding: chunked\r\nTransfer-Encoding: \r\n"),
		obf("te-folded-list", "Transfer-Encoding: chunked\r\n\tidentity\r\n"),
	}
	for i := range cs {
		cs[i].family = "framing"
	}
	return cs
}

// lengthCases: Content-Length spelled in every way but the plain one.
func lengthCases() []reqCase {
	bad := func(name, value string) reqCase {
		return reqCase{name: name, raw: post("Content-Length: "+value+"\r\n", "hello"), want: []outcome{broken(400)}, ref: true}
	}
	hello := fwd("POST /{H}/a hello")
	cs := []reqCase{
		{name: "cl-plain", raw: post(clen("hello"), "hello"), want: []outcome{hello}, ref: true},
		{name: "cl-duplicate-same", raw: post(clen("hello")+clen("hello"), "hello"), want: []outcome{hello, broken(400)}, ref: true},
		{name: "cl-duplicate-case", raw: post(clen("hello")+"content-length: 5\r\n", "hello"), want: []outcome{hello, broken(400)}, ref: true},
		{name: "cl-duplicate-different", raw: post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"), want: []outcome{broken(400)}, ref: true},
		{name: "cl-duplicate-zero", raw: post("Content-Length: 0\r\nContent-Length: 5\r\n", "hello"), want: []outcome{broken(400)}, ref: true},
		{name: "cl-list-same", raw: post("Content-Length: 5, 5\r\n", "hello"), want: []outcome{broken(400), hello}, ref: true},
		{name: "cl-list-different", raw: post("Content-Length: 5, 6\r\n", "hello!"), want: []outcome{broken(400)}, ref: true},
		bad("cl-plus", "+5"),
		bad("cl-minus", "-5"),
		bad("cl-minus-one", "-1"),
		bad("cl-hex", "0x5"),
		bad("cl-decimal", "5.0"),
		bad("cl-exponent", "5e0"),
		bad("cl-suffix", "5abc"),
		bad("cl-inner-space", "5 5"),
		bad("cl-overflow", "99999999999999999999"),
		bad("cl-nul", "5\x00"),
		{name: "cl-leading-zeros", raw: post("Content-Length: 005\r\n", "hello"), want: []outcome{hello}, ref: true},
		{name: "cl-blanks", raw: post("Content-Length:  5 \t\r\n", "hello"), want: []outcome{hello}, ref: true},
		{name: "cl-no-space", raw: post("Content-Length:5\r\n", "hello"), want: []outcome{hello}, ref: true},
		{name: "cl-space-before-colon", raw: post("Content-Length : 5\r\n", "hello"), want: []outcome{broken(400)}, ref: true},
		{name: "cl-empty", raw: post("Content-Length: \r\n", ""), want: []outcome{broken(400), fwd("POST /{H}/a")}, ref: true},
		{name: "cl-short-then-request", raw: post("Content-Length: 5\r\n", "hello"+hidden),
			want: []outcome{fwd("POST /{H}/a hello", "GET /{S}/x")}, ref: true},
		{name: "cl-zero-then-request", raw: post("Content-Length: 0\r\n", hidden),
			want: []outcome{fwd("POST /{H}/a", "GET /{S}/x")}, ref: true},
		{name: "cl-short-then-garbage", raw: post("Content-Length: 3\r\n", "hello\r\n\r\n"),
			want: []outcome{{codes: []int{200, 400}, seen: []string{"POST /{H}/a hel"}, close: closeYes}}, ref: true},
		{name: "cl-on-get", raw: "GET /{H}/a HTTP/1.1\r\n" + host + clen("hello") + "\r\nhello", want: []outcome{fwd("GET /{H}/a hello")}, ref: true},
		{name: "cl-http10", raw: "POST /{H}/a HTTP/1.0\r\n" + host + clen("hello") + "\r\nhello", want: []outcome{hello.closing()}, ref: true},
		{name: "cl-over-max-unsent", raw: post("Content-Length: 10485760\r\n", ""), want: []outcome{refused(413)}, ref: true},
		{name: "cl-over-max-sent", raw: post(clen(strings.Repeat("x", 70000)), strings.Repeat("x", 70000)), want: []outcome{refused(413)}, ref: true},
		{name: "cl-max-exactly", raw: post(clen(strings.Repeat("y", 64<<10)), strings.Repeat("y", 64<<10)),
			want: []outcome{fwd("POST /{H}/a " + strings.Repeat("y", 64<<10))}, ref: true},
	}
	for i := range cs {
		cs[i].family = "length"
	}
	return cs
}

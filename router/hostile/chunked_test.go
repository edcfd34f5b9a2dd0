package hostile

import (
	"fmt"
	"strings"
)

// chunkCases: chunked bodies with sizes, extensions, line endings and
// trailers a careful reader refuses, and the valid spellings it must take.
func chunkCases() []reqCase {
	hello := fwd("POST /{H}/a hello")
	c := func(name, body string, want ...outcome) reqCase {
		return reqCase{name: name, raw: post(chunked, body), want: want, ref: true}
	}
	bad := func(name, body string) reqCase { return c(name, body, broken(400)) }
	// Forwarded as hello, or refused: either is right when the router
	// re-frames the body it forwards (the backend never sees the oddity).
	either := func(name, body string) reqCase { return c(name, body, hello, broken(400)) }
	longExt := ";e=" + strings.Repeat("x", 5000)
	var manyExt strings.Builder
	for range 40 {
		manyExt.WriteString("1;e=" + strings.Repeat("x", 1000) + "\r\nh\r\n")
	}
	manyExt.WriteString("0\r\n\r\n")
	big := strings.Repeat("z", 70000)
	var bigChunks strings.Builder
	for i := 0; i < len(big); i += 8192 {
		part := big[i:min(i+8192, len(big))]
		fmt.Fprintf(&bigChunks, "%x\r\n%s\r\n", len(part), part)
	}
	bigChunks.WriteString("0\r\n\r\n")
	cs := []reqCase{
		c("chunked-plain", chunk("hello"), hello),
		c("chunked-pieces", "2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n", hello),
		c("chunked-upper-hex", "A\r\n0123456789\r\n0\r\n\r\n", fwd("POST /{H}/a 0123456789")),
		c("chunked-lower-hex", "a\r\n0123456789\r\n0\r\n\r\n", fwd("POST /{H}/a 0123456789")),
		c("chunked-few-zeros", "0005\r\nhello\r\n0\r\n\r\n", hello),
		c("chunked-zero-run", "00000000000000000005\r\nhello\r\n0\r\n\r\n", broken(400), hello),
		bad("chunked-size-huge", "fffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
		bad("chunked-size-17-digits", "10000000000000000\r\nhello\r\n0\r\n\r\n"),
		bad("chunked-size-negative", "-5\r\nhello\r\n0\r\n\r\n"),
		bad("chunked-size-0x", "0x5\r\nhello\r\n0\r\n\r\n"),
		bad("chunked-size-plus", "+5\r\nhello\r\n0\r\n\r\n"),
		bad("chunked-size-leading-space", " 5\r\nhello\r\n0\r\n\r\n"),
		c("chunked-size-trailing-space", "5 \r\nhello\r\n0\r\n\r\n", hello, broken(400)),
		c("chunked-size-trailing-tab", "5\t\r\nhello\r\n0\r\n\r\n", hello, broken(400)),
		bad("chunked-size-empty", "\r\nhello\r\n0\r\n\r\n"),
		bad("chunked-size-not-hex", "g\r\nhello\r\n0\r\n\r\n"),
		bad("chunked-size-underscore", "0_5\r\nhello\r\n0\r\n\r\n"),
		bad("chunked-data-too-long", "3\r\nhello\r\n0\r\n\r\n"),
		bad("chunked-data-no-crlf", "5\r\nhello0\r\n\r\n"),
		bad("chunked-data-bare-lf", "5\r\nhello\n0\r\n\r\n"),
		bad("chunked-data-bare-cr", "5\r\nhello\r0\r\n\r\n"),
		bad("chunked-size-bare-lf", "5\nhello\r\n0\r\n\r\n"),
		bad("chunked-last-bare-lf", "5\r\nhello\r\n0\n\r\n"),
		bad("chunked-size-bare-cr", "5\rhello\r\n0\r\n\r\n"),
		c("chunked-ext", "5;ext=1\r\nhello\r\n0\r\n\r\n", hello),
		c("chunked-ext-name-only", "5;ext\r\nhello\r\n0\r\n\r\n", hello),
		c("chunked-ext-quoted", "5;a=\"b c\"\r\nhello\r\n0\r\n\r\n", hello),
		c("chunked-ext-on-last", "5\r\nhello\r\n0;last=1\r\n\r\n", hello),
		either("chunked-ext-bws", "5 ; a=b\r\nhello\r\n0\r\n\r\n"),
		either("chunked-ext-bare-cr", "5;a=b\rc\r\nhello\r\n0\r\n\r\n"),
		either("chunked-ext-nul", "5;a=\x00\r\nhello\r\n0\r\n\r\n"),
		bad("chunked-ext-bare-lf", "5;a=b\nhello\r\n0\r\n\r\n"),
		bad("chunked-ext-oversized", "5"+longExt+"\r\nhello\r\n0\r\n\r\n"),
		c("chunked-ext-many", manyExt.String(), broken(400), fwd("POST /{H}/a "+strings.Repeat("h", 40))),
		c("chunked-over-max", bigChunks.String(), refused(413).orPartial()),
		c("chunked-trailer", "5\r\nhello\r\n0\r\nX-T: v\r\n\r\n", hello),
		c("chunked-trailer-forbidden", "5\r\nhello\r\n0\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\nHost: evil\r\n\r\n", hello, broken(400)),
		bad("chunked-trailer-no-colon", "5\r\nhello\r\n0\r\nnot a field\r\n\r\n"),
		bad("chunked-trailer-nul", "5\r\nhello\r\n0\r\nX-T: a\x00b\r\n\r\n"),
		{name: "chunked-trailer-announced-length", raw: post(chunked+"Trailer: Content-Length\r\n", "5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n"),
			want: []outcome{broken(400)}, ref: true},
		{name: "chunked-trailer-announced", raw: post(chunked+"Trailer: X-T\r\n", "5\r\nhello\r\n0\r\nX-T: v\r\n\r\n"),
			want: []outcome{hello}, ref: true},
	}
	for i := range cs {
		cs[i].family = "chunked"
	}
	return cs
}

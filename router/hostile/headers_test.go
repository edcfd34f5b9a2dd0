package hostile

import (
	"fmt"
	"strings"
)

// headerCases: field lines with folding, control bytes, odd names, sizes
// and hop-by-hop tricks.
func headerCases() []reqCase {
	f := func(name, fields string, want ...outcome) reqCase {
		return reqCase{name: name, raw: get(fields), want: want, ref: true}
	}
	bad := func(name, fields string) reqCase { return f(name, fields, broken(400)) }
	a := fwd("GET /{H}/a")
	var many strings.Builder
	for i := range 500 {
		fmt.Fprintf(&many, "X-N%d: v\r\n", i)
	}
	var tooMany strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&tooMany, "X-Many-%d: %s\r\n", i, strings.Repeat("v", 16))
	}
	hop := func(name, fields string, absent ...string) reqCase {
		c := f(name, fields, a)
		c.hdr = map[string]string{}
		for _, h := range absent {
			c.hdr[h] = ""
		}
		return c
	}
	cs := []reqCase{
		f("obs-fold-value", "X-A: a\r\n b\r\n", a, broken(400)),
		f("obs-fold-tab", "X-A: a\r\n\tb\r\n", a, broken(400)),
		f("obs-fold-empty-first", "X-A:\r\n b\r\n", a, broken(400)),
		{name: "obs-fold-first-line", raw: "GET /{H}/a HTTP/1.1\r\n X-A: b\r\n" + host + "\r\n", want: []outcome{broken(400)}, ref: true},
		bad("obs-fold-in-name", "X-\r\n A: b\r\n"),
		bad("nul-in-name", "X-\x00A: b\r\n"),
		bad("nul-in-value", "X-A: a\x00b\r\n"),
		bad("cr-in-value", "X-A: a\rb\r\n"),
		bad("cr-in-name", "X-\rA: b\r\n"),
		bad("cr-injects-field", "X-A: a\rX-Injected: 1\r\n"),
		bad("del-in-value", "X-A: a\x7fb\r\n"),
		bad("del-in-name", "X-\x7fA: b\r\n"),
		bad("ctl-01-in-value", "X-A: a\x01b\r\n"),
		bad("ctl-1b-in-value", "X-A: a\x1bb\r\n"),
		bad("vtab-in-value", "X-A: a\x0bb\r\n"),
		bad("formfeed-in-value", "X-A: a\x0cb\r\n"),
		bad("ctl-1f-in-name", "X-\x1fA: b\r\n"),
		f("obs-text-in-value", "X-A: caf\xc3\xa9 \xff\r\n", a),
		bad("utf8-in-name", "X-\xc3\xa9: b\r\n"),
		bad("space-before-colon", "X-A : b\r\n"),
		bad("tab-before-colon", "X-A\t: b\r\n"),
		bad("space-in-name", "X A: b\r\n"),
		bad("empty-name", ": b\r\n"),
		bad("no-colon", "Garbage\r\n"),
		bad("quote-in-name", "X-\"A\": b\r\n"),
		f("empty-value", "X-A:\r\n", a),
		{name: "value-blanks-trimmed", raw: get("X-A: \t b \t\r\n"), want: []outcome{a}, hdr: map[string]string{"X-A": "b"}, ref: true},
		f("many-fields", many.String(), a),
		f("field-over-limit", "X-Big: "+strings.Repeat("b", 40<<10)+"\r\n", refused(431)),
		f("fields-over-limit", tooMany.String(), refused(431)),
		f("connection-close", "Connection: close\r\n", a.closing()),
		hop("connection-names-xff", "Connection: X-Forwarded-For\r\nX-Forwarded-For: 6.6.6.6\r\n"),
		hop("hop-by-hop-dropped", "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\nConnection: X-Secret\r\nX-Secret: s\r\n",
			"Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "X-Secret"),
		hop("te-trailers-kept", "TE: trailers, gzip\r\n"),
		{name: "spoofed-xff", raw: get("X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil\r\nForwarded: for=6.6.6.6\r\n"), want: []outcome{a},
			hdr: map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "h", "Forwarded": ""}, ref: true},
		{name: "connection-names-length", raw: post("Connection: Content-Length\r\n"+clen("hello"), "hello"), want: []outcome{fwd("POST /{H}/a hello")}, ref: true},
		{name: "connection-names-te", raw: post("Connection: Transfer-Encoding\r\n"+chunked, chunk("hello")), want: []outcome{fwd("POST /{H}/a hello")}, ref: true},
		{name: "connection-names-host", raw: get("Connection: Host\r\n"), want: []outcome{a, refused(400)}, ref: true},
		f("encoded-crlf-in-value", "X-A: a%0d%0aX-Injected: 1\r\n", a),
	}
	for i := range cs {
		cs[i].family = "headers"
	}
	return cs
}

// hostCases: the Host field missing, repeated and oddly spelled.
func hostCases() []reqCase {
	h := func(name, fields string, want ...outcome) reqCase {
		return reqCase{name: name, raw: "GET /{H}/a HTTP/1.1\r\n" + fields + "\r\n", want: want, ref: true}
	}
	bad := func(name, fields string) reqCase { return h(name, fields, broken(400)) }
	a := fwd("GET /{H}/a")
	cs := []reqCase{
		bad("host-duplicate", "Host: h\r\nHost: other\r\n"),
		bad("host-duplicate-same", "Host: h\r\nHost: h\r\n"),
		bad("host-missing-http11", ""),
		{name: "host-missing-http10", raw: "GET /{H}/a HTTP/1.0\r\n\r\n", want: []outcome{a.closing()}, ref: true},
		h("host-empty", "Host:\r\n", a, broken(400)),
		h("host-userinfo", "Host: u@h\r\n", broken(400), a),
		h("host-with-path", "Host: h/x\r\n", broken(400), a),
		bad("host-space", "Host: h x\r\n"),
		bad("host-nul", "Host: h\x00x\r\n"),
		h("host-ipv6", "Host: [::1]:8080\r\n", a),
		h("host-port-only", "Host: :80\r\n", a, broken(400)),
		h("host-long", "Host: "+strings.Repeat("h", 4000)+"\r\n", a),
		h("host-utf8", "Host: \xc3\xa9.example\r\n", a, broken(400)),
		h("host-trailing-dot", "Host: h.\r\n", a),
		h("host-comma", "Host: a,b\r\n", broken(400), a),
		h("host-bad-port", "Host: h:99999\r\n", a, broken(400)),
		h("host-folded", "Host:\r\n h\r\n", a, broken(400)),
		{name: "host-absolute-form-empty-host", raw: "GET http://h/{H}/a HTTP/1.1\r\nHost:\r\n\r\n", want: []outcome{a, broken(400)}, ref: true},
	}
	for i := range cs {
		cs[i].family = "host"
	}
	return cs
}

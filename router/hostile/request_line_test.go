package hostile

import "strings"

// requestLineCases: versions, separators and methods of the request line.
func requestLineCases() []reqCase {
	line := func(name, first string, want ...outcome) reqCase {
		return reqCase{name: name, raw: first + "\r\n" + host + "\r\n", want: want, ref: true}
	}
	bad := func(name, first string) reqCase { return line(name, first, broken(400)) }
	a := fwd("GET /{H}/a")
	cs := []reqCase{
		line("http10", "GET /{H}/a HTTP/1.0", a.closing()),
		{name: "http10-keep-alive", raw: "GET /{H}/a HTTP/1.0\r\n" + host + "Connection: keep-alive\r\n\r\n", want: []outcome{a.either()}, ref: true},
		line("http12", "GET /{H}/a HTTP/1.2", a),
		line("http19", "GET /{H}/a HTTP/1.9", a),
		line("http20-text", "GET /{H}/a HTTP/2.0", broken(505), broken(400)),
		line("http30-text", "GET /{H}/a HTTP/3.0", broken(505), broken(400)),
		{name: "http09-no-version", raw: "GET /{H}/a\r\n\r\n", want: []outcome{broken(400)}, ref: true},
		bad("http-lowercase", "GET /{H}/a http/1.1"),
		bad("http-leading-zero", "GET /{H}/a HTTP/01.1"),
		bad("http-minor-two-digits", "GET /{H}/a HTTP/1.10"),
		bad("http-minor-leading-zero", "GET /{H}/a HTTP/1.01"),
		bad("http-no-minor", "GET /{H}/a HTTP/1"),
		bad("http-no-dot", "GET /{H}/a HTTP/11"),
		bad("http-suffix", "GET /{H}/a HTTP/1.1x"),
		bad("http-https-name", "GET /{H}/a HTTPS/1.1"),
		bad("http-space-in-version", "GET /{H}/a HTTP /1.1"),
		bad("version-trailing-space", "GET /{H}/a HTTP/1.1 "),
		bad("double-space", "GET  /{H}/a HTTP/1.1"),
		bad("tab-separators", "GET\t/{H}/a\tHTTP/1.1"),
		bad("no-target", "GET HTTP/1.1"),
		bad("space-in-target", "GET /{H}/a b HTTP/1.1"),
		bad("nul-in-target", "GET /{H}/a\x00b HTTP/1.1"),
		bad("del-in-target", "GET /{H}/a\x7fb HTTP/1.1"),
		bad("ctl-in-target", "GET /{H}/a\x01b HTTP/1.1"),
		{name: "bare-cr-in-line", raw: "GET /{H}/a HTTP/1.1\r" + host + "\r\n", want: []outcome{broken(400)}, ref: true},
		{name: "bare-lf-lines", raw: "GET /{H}/a HTTP/1.1\n" + "Host: h\n\n", want: []outcome{a, broken(400)}, ref: true},
		{name: "leading-crlf", raw: "\r\nGET /{H}/a HTTP/1.1\r\n" + host + "\r\n", want: []outcome{a, broken(400)}, ref: true},
		bad("method-at", "G@T /{H}/a HTTP/1.1"),
		bad("method-nul", "GET\x00 /{H}/a HTTP/1.1"),
		bad("method-brace", "GET{ /{H}/a HTTP/1.1"),
		bad("method-colon", "GET: /{H}/a HTTP/1.1"),
		bad("method-utf8", "G\xc3\x89T /{H}/a HTTP/1.1"),
		bad("method-quoted", "\"GET\" /{H}/a HTTP/1.1"),
		{name: "method-empty", raw: " /{H}/a HTTP/1.1\r\n" + host + "\r\n", want: []outcome{broken(400)}, ref: true},
		line("method-lowercase", "get /{H}/a HTTP/1.1", fwd("get /{H}/a")),
		line("method-custom", "FOO /{H}/a HTTP/1.1", fwd("FOO /{H}/a")),
		line("method-dash", "M-SEARCH /{H}/a HTTP/1.1", fwd("M-SEARCH /{H}/a")),
		line("method-long", strings.Repeat("A", 300)+" /{H}/a HTTP/1.1", fwd(strings.Repeat("A", 300)+" /{H}/a")),
		line("long-target-under-limit", "GET /{H}/"+strings.Repeat("l", 8000)+" HTTP/1.1", fwd("GET /{H}/"+strings.Repeat("l", 8000))),
		line("long-target-over-limit", "GET /{H}/"+strings.Repeat("l", 40<<10)+" HTTP/1.1", refused(431), refused(414), broken(400)),
		line("long-query-over-limit", "GET /{H}/a?q="+strings.Repeat("q", 40<<10)+" HTTP/1.1", refused(431), refused(414), broken(400)),
		// CONNECT is a tunnel: the router is no forward proxy.
		{name: "connect-authority", raw: "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", want: []outcome{refused(405), refused(400), refused(501)}},
		{name: "connect-path", raw: "CONNECT /{H}/a HTTP/1.1\r\n" + host + "\r\n", want: []outcome{refused(405), refused(400), refused(501)}},
	}
	for i := range cs {
		cs[i].family = "request-line"
	}
	return cs
}

// targetCases: request-target forms and path spellings. The router
// matches routes on the normalised path and forwards that path, so the
// backend sees what the router judged (server.path defaults: normalize,
// merge_slashes, escaped slashes kept); a path that cannot be normalised
// is a 400.
func targetCases() []reqCase {
	to := func(name, target string, want ...outcome) reqCase {
		return reqCase{name: name, raw: "GET " + target + " HTTP/1.1\r\n" + host + "\r\n", want: want}
	}
	a := fwd("GET /{H}/a")
	cs := []reqCase{
		to("dot-segment", "/{H}/./a", a),
		to("dot-dot-segment", "/{H}/b/../a", a),
		to("double-slash-inner", "/{H}//a", a),
		to("double-slash-leading", "//{H}/a", a),
		to("escaped-dot-dot", "/{H}/b/%2e%2e/a", a, refused(400)),
		to("escaped-dot-dot-upper", "/{H}/b/%2E%2E/a", a, refused(400)),
		to("escaped-dot", "/{H}/%2e/a", a, refused(400)),
		to("dot-dot-above-root", "/../{H}/a", a, refused(400)),
		to("escaped-nul", "/{H}/a%00b", refused(400)),
		to("bad-escape", "/{H}/a%zz", broken(400)),
		to("truncated-escape", "/{H}/a%2", broken(400)),
		to("escaped-slash-kept", "/{H}/a%2Fb", fwd("GET /{H}/a%2Fb"), fwd("GET /{H}/a%2fb")),
		to("escaped-unreserved", "/{H}/%61", a, fwd("GET /{H}/%61")),
		to("backslash", "/{H}\\a", refused(400), fwd("GET /{H}%5Ca"), fwd("GET /{H}\\a")),
		to("fragment", "/{H}/a#frag", refused(400), a, fwd("GET /{H}/a%23frag")),
		to("raw-utf8", "/{H}/\xc3\xa9", refused(400), fwd("GET /{H}/%C3%A9")),
		{name: "query-kept", raw: "GET /{H}/a?x=1&y=%20 HTTP/1.1\r\n" + host + "\r\n", want: []outcome{fwd("GET /{H}/a?x=1&y=%20")}, ref: true},
		to("query-semicolon", "/{H}/a?x=1;y=2", fwd("GET /{H}/a?x=1;y=2"), fwd("GET /{H}/a?x=1"), a),
		{name: "absolute-form", raw: "GET http://h/{H}/a HTTP/1.1\r\n" + host + "\r\n", want: []outcome{a}, ref: true},
		{name: "absolute-form-other-host", raw: "GET http://other/{H}/a HTTP/1.1\r\n" + host + "\r\n", want: []outcome{a},
			hdr: map[string]string{"X-Forwarded-Host": "other"}, ref: true},
		{name: "absolute-form-https", raw: "GET https://h/{H}/a HTTP/1.1\r\n" + host + "\r\n", want: []outcome{a, refused(400)}, ref: true},
		to("absolute-form-userinfo", "http://u:p@h/{H}/a", a, refused(400)),
		to("absolute-form-no-path", "http://h", fwd("GET /"), refused(400)),
		to("authority-form-get", "h:80", refused(400), broken(400)),
		{name: "relative-target", raw: "GET {H}/a HTTP/1.1\r\n" + host + "\r\n", want: []outcome{broken(400)}, ref: true},
		{name: "asterisk-options", raw: "OPTIONS * HTTP/1.1\r\n" + host + "\r\n", want: []outcome{refused(400), fwd("OPTIONS *"), {codes: []int{200}, own: true}}},
		to("asterisk-get", "*", refused(400)),
	}
	for i := range cs {
		cs[i].family = "target"
	}
	return cs
}

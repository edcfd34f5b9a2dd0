package hostile

// expectUpgradeCases: Expect and Upgrade in their valid and invalid forms.
// The router upgrades only what a client asks for and server.upgrades
// allows (websocket by default); h2c is off unless configured.
func expectUpgradeCases() []reqCase {
	hello := fwd("POST /{H}/a hello")
	a := fwd("GET /{H}/a")
	noUpgrade := map[string]string{"Upgrade": "", "Http2-Settings": ""}
	cs := []reqCase{
		{name: "expect-body-at-once", raw: post("Expect: 100-continue\r\n"+clen("hello"), "hello"), want: []outcome{hello}, ref: true},
		{name: "expect-wait-for-100", raw: post("Expect: 100-continue\r\n"+clen("hello"), "{WAIT100}hello"), want: []outcome{hello}},
		{name: "expect-chunked-wait", raw: post("Expect: 100-continue\r\n"+chunked, "{WAIT100}"+chunk("hello")), want: []outcome{hello}},
		{name: "expect-no-body", raw: get("Expect: 100-continue\r\n"), want: []outcome{a}, ref: true},
		{name: "expect-mixed-case", raw: post("Expect: 100-Continue\r\n"+clen("hello"), "hello"), want: []outcome{hello}, ref: true},
		{name: "expect-unknown", raw: post("Expect: foo\r\n"+clen("hello"), "hello"), want: []outcome{refused(417)}, ref: true},
		{name: "expect-list", raw: post("Expect: 100-continue, foo\r\n"+clen("hello"), "hello"), want: []outcome{refused(417), hello}, ref: true},
		{name: "expect-http10", raw: "POST /{H}/a HTTP/1.0\r\n" + host + "Expect: 100-continue\r\n" + clen("hello") + "\r\nhello",
			want: []outcome{hello.closing()}, ref: true},
		{name: "expect-over-max", raw: post("Expect: 100-continue\r\nContent-Length: 10485760\r\n", ""), want: []outcome{refused(413)}, ref: true},
		{name: "upgrade-h2c", raw: get("Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"),
			want: []outcome{a}, hdr: noUpgrade, ref: true},
		{name: "upgrade-unknown", raw: get("Connection: upgrade\r\nUpgrade: foo/1\r\n"), want: []outcome{a}, hdr: noUpgrade, ref: true},
		{name: "upgrade-websocket", raw: get("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"),
			want: []outcome{a}, hdr: map[string]string{"Upgrade": "websocket"}, ref: true},
		{name: "upgrade-without-connection", raw: get("Upgrade: websocket\r\n"), want: []outcome{a}, hdr: noUpgrade, ref: true},
		{name: "upgrade-websocket-http10", raw: "GET /{H}/a HTTP/1.0\r\n" + host + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
			want: []outcome{a.closing()}, hdr: noUpgrade, ref: true},
		{name: "upgrade-connection-only", raw: get("Connection: upgrade\r\n"), want: []outcome{a}, hdr: noUpgrade, ref: true},
		{name: "upgrade-with-body", raw: post("Connection: upgrade\r\nUpgrade: foo\r\n"+clen("hello"), "hello"), want: []outcome{hello}, hdr: noUpgrade, ref: true},
		{name: "h2-preface", raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", want: []outcome{broken(505), broken(400), broken(426)}},
	}
	for i := range cs {
		cs[i].family = "expect-upgrade"
	}
	return cs
}

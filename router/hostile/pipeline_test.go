package hostile

import (
	"fmt"
	"strings"
)

// pipelineCases: several requests written at once, mixing requests the
// router refuses itself (the /lim/ route allows one request, then answers
// 429) with forwarded ones, so the early refusals must keep the
// connection's framing and order.
func pipelineCases() []reqCase {
	g := func(path string) string { return "GET " + path + " HTTP/1.1\r\n" + host + "\r\n" }
	p := func(path, body string) string {
		return "POST " + path + " HTTP/1.1\r\n" + host + clen(body) + "\r\n" + body
	}
	pc := func(path, body string) string {
		return "POST " + path + " HTTP/1.1\r\n" + host + chunked + "\r\n" + chunk(body)
	}
	var twenty strings.Builder
	var twentySeen []string
	for i := range 20 {
		twenty.WriteString(g(fmt.Sprintf("/{H}/%d", i)))
		twentySeen = append(twentySeen, fmt.Sprintf("GET /{H}/%d", i))
	}
	var limited strings.Builder
	for i := range 6 {
		limited.WriteString(g(fmt.Sprintf("/lim/{H}/%d", i)))
	}
	big := strings.Repeat("b", 70000)
	cs := []reqCase{
		{name: "two-gets", raw: g("/{H}/1") + g("/{H}/2"), want: []outcome{fwd("GET /{H}/1", "GET /{H}/2")}},
		{name: "twenty-gets", raw: twenty.String(), want: []outcome{fwd(twentySeen...)}},
		{name: "limited-then-forwarded", raw: g("/lim/{H}/1") + g("/lim/{H}/2") + g("/{H}/3"),
			want: []outcome{{codes: []int{200, 429, 200}, seen: []string{"GET /lim/{H}/1", "GET /{H}/3"}, close: closeNo}}},
		{name: "limited-run", raw: limited.String(),
			want: []outcome{{codes: []int{200, 429, 429, 429, 429, 429}, seen: []string{"GET /lim/{H}/0"}, close: closeNo}}},
		{name: "mixed-order", raw: g("/{H}/1") + g("/lim/{H}/2") + g("/lim/{H}/3") + g("/{H}/4") + g("/lim/{H}/5") + g("/{H}/6"),
			want: []outcome{{codes: []int{200, 200, 429, 200, 429, 200},
				seen: []string{"GET /{H}/1", "GET /lim/{H}/2", "GET /{H}/4", "GET /{H}/6"}, close: closeNo}}},
		{name: "refused-body-holds-request", raw: p("/lim/{H}/1", "one") + p("/lim/{H}/2", hidden) + g("/{H}/3"),
			want: []outcome{{codes: []int{200, 429, 200}, seen: []string{"POST /lim/{H}/1 one", "GET /{H}/3"}, close: closeNo}}},
		{name: "refused-chunked-body-holds-request", raw: p("/lim/{H}/1", "one") + pc("/lim/{H}/2", hidden) + g("/{H}/3"),
			want: []outcome{{codes: []int{200, 429, 200}, seen: []string{"POST /lim/{H}/1 one", "GET /{H}/3"}, close: closeNo}}},
		{name: "refused-big-body", raw: p("/lim/{H}/1", "one") + p("/lim/{H}/2", big) + g("/{H}/3"),
			want: []outcome{
				{codes: []int{200, 429, 200}, seen: []string{"POST /lim/{H}/1 one", "GET /{H}/3"}, close: closeNo},
				{codes: []int{200, 413, 200}, seen: []string{"POST /lim/{H}/1 one", "GET /{H}/3"}, close: closeNo},
				{codes: []int{200, 429}, seen: []string{"POST /lim/{H}/1 one"}, close: closeYes},
				{codes: []int{200, 413}, seen: []string{"POST /lim/{H}/1 one"}, close: closeYes},
			}},
		{name: "refused-then-close", raw: g("/lim/{H}/1") + "GET /lim/{H}/2 HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n" + g("/{S}/x"),
			want: []outcome{{codes: []int{200, 429}, seen: []string{"GET /lim/{H}/1"}, close: closeYes}}},
		{name: "close-in-middle", raw: g("/{H}/1") + "GET /{H}/2 HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n" + g("/{S}/x"),
			want: []outcome{{codes: []int{200, 200}, seen: []string{"GET /{H}/1", "GET /{H}/2"}, close: closeYes}}},
		{name: "refused-head", raw: g("/lim/{H}/1") + "HEAD /lim/{H}/2 HTTP/1.1\r\n" + host + "\r\n" + g("/{H}/3"), heads: []int{1},
			want: []outcome{{codes: []int{200, 429, 200}, seen: []string{"GET /lim/{H}/1", "GET /{H}/3"}, close: closeNo}}},
		{name: "head-then-get", raw: "HEAD /{H}/1 HTTP/1.1\r\n" + host + "\r\n" + g("/{H}/2"), heads: []int{0},
			want: []outcome{fwd("HEAD /{H}/1", "GET /{H}/2")}},
		{name: "garbage-in-middle", raw: g("/{H}/1") + "GARBAGE\r\n\r\n" + g("/{S}/x"),
			want: []outcome{{codes: []int{200, 400}, seen: []string{"GET /{H}/1"}, close: closeYes}}},
		{name: "http10-in-middle", raw: g("/{H}/1") + "GET /{H}/2 HTTP/1.0\r\n" + host + "\r\n" + g("/{S}/x"),
			want: []outcome{{codes: []int{200, 200}, seen: []string{"GET /{H}/1", "GET /{H}/2"}, close: closeYes}}},
		{name: "bad-length-after-refusal", raw: g("/lim/{H}/1") + g("/lim/{H}/2") + post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!") + g("/{S}/x"),
			want: []outcome{{codes: []int{200, 429, 400}, seen: []string{"GET /lim/{H}/1"}, close: closeYes}}},
		{name: "cl-te-after-refusal", raw: g("/lim/{H}/1") + g("/lim/{H}/2") + post(clen("0\r\n\r\n"+hidden)+chunked, "0\r\n\r\n"+hidden),
			want: []outcome{
				{codes: []int{200, 429, 200, 200}, seen: []string{"GET /lim/{H}/1", "POST /{H}/a", "GET /{S}/x"}, close: closeEither},
				{codes: []int{200, 429, 400}, seen: []string{"GET /lim/{H}/1"}, close: closeYes},
			}},
		{name: "split-heads", raw: "GET /lim/{H}/1 HTTP/1.1\r\nHo{PAUSE}st: h\r\n\r\nGET /lim/{H}/2 HT{PAUSE}TP/1.1\r\n" + host + "\r{PAUSE}\n" + g("/{H}/3"),
			want: []outcome{{codes: []int{200, 429, 200}, seen: []string{"GET /lim/{H}/1", "GET /{H}/3"}, close: closeNo}}},
		{name: "refused-expect", raw: g("/lim/{H}/1") + "POST /lim/{H}/2 HTTP/1.1\r\n" + host + "Expect: 100-continue\r\n" + clen("hello") + "\r\nhello" + g("/{H}/3"),
			want: []outcome{
				{codes: []int{200, 429, 200}, seen: []string{"GET /lim/{H}/1", "GET /{H}/3"}, close: closeEither},
				{codes: []int{200, 429}, seen: []string{"GET /lim/{H}/1"}, close: closeYes},
			}},
		{name: "refused-bare-lf-head", raw: g("/lim/{H}/1") + "GET /lim/{H}/2 HTTP/1.1\nHost: h\n\n" + g("/{H}/3"),
			want: []outcome{
				{codes: []int{200, 429, 200}, seen: []string{"GET /lim/{H}/1", "GET /{H}/3"}, close: closeNo},
				{codes: []int{200, 400}, seen: []string{"GET /lim/{H}/1"}, close: closeYes},
			}},
	}
	for i := range cs {
		cs[i].family = "pipeline"
	}
	return cs
}

// earlyCloseCases: the client goes away mid-request. Nobody is answered,
// the backend sees nothing complete, and no breaker moves (a client
// leaving is never a backend failure).
func earlyCloseCases() []reqCase {
	c := func(name, raw string) reqCase {
		return reqCase{name: name, raw: raw + "{CLOSE}", want: []outcome{gone()}}
	}
	cs := []reqCase{
		c("mid-request-line", "GET /{H}/a HT"),
		c("mid-head", "GET /{H}/a HTTP/1.1\r\nHost: h\r\nX-A:"),
		c("head-without-blank-line", "GET /{H}/a HTTP/1.1\r\nHost: h\r\n"),
		c("before-body", post("Content-Length: 10\r\n", "")),
		c("mid-body", post("Content-Length: 10\r\n", "hel")),
		c("mid-body-paused", post("Content-Length: 10\r\n", "he{PAUSE}l")),
		c("mid-chunk", post(chunked, "5\r\nhel")),
		c("mid-chunk-size", post(chunked, "5\r\nhello\r\n1")),
		c("before-last-chunk", post(chunked, "5\r\nhello\r\n")),
		c("mid-trailers", post(chunked, "5\r\nhello\r\n0\r\nX-T: v\r\n")),
		c("expect-without-body", post("Expect: 100-continue\r\nContent-Length: 10\r\n", "")),
		c("big-body-half", post("Content-Length: 60000\r\n", strings.Repeat("h", 30000))),
	}
	for i := range cs {
		cs[i].family = "early-close"
	}
	return cs
}

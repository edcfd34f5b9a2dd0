package router

import (
	"net/http"
	"net/textproto"
	"strings"
)

// hopByHop are the fields that concern one connection only (RFC 9110,
// section 7.6.1, and the older ones ReverseProxy also drops).
var hopByHop = [...]string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// stripHopByHop removes the hop-by-hop fields from h, and the fields its
// Connection field names.
func stripHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for f != "" {
			var name string
			name, f, _ = strings.Cut(f, ",")
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, f := range hopByHop {
		delete(h, f)
	}
}

// httpHasToken reports whether a comma-separated list among vv holds
// token, compared without case.
func httpHasToken(vv []string, token string) bool {
	for _, v := range vv {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(textproto.TrimString(t), token) {
				return true
			}
		}
	}
	return false
}

// isEventStream reports whether a Content-Type value is text/event-stream,
// parameters aside.
func isEventStream(vv []string) bool {
	if len(vv) == 0 {
		return false
	}
	ct, _, _ := strings.Cut(vv[0], ";")
	return strings.EqualFold(textproto.TrimString(ct), "text/event-stream")
}

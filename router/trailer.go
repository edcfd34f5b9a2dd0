package router

import "net/http"

// notTrailers are the fields a trailer may not carry (RFC 9110, section
// 6.5.1): framing, routing, request modifiers, authentication and cookies,
// response control data, how to process the content, and the hop-by-hop
// ones. Such a field is dropped from a backend's trailer and from a
// client's, not passed on.
var notTrailers = map[string]bool{
	"Content-Length": true, "Transfer-Encoding": true, "Trailer": true, "Host": true,
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true, "Te": true, "Upgrade": true,
	"Cache-Control": true, "Expect": true, "Max-Forwards": true, "Pragma": true, "Range": true,
	"If-Match": true, "If-None-Match": true, "If-Modified-Since": true, "If-Unmodified-Since": true, "If-Range": true,
	"Authorization": true, "Proxy-Authorization": true, "Www-Authenticate": true, "Proxy-Authenticate": true,
	"Authentication-Info": true, "Proxy-Authentication-Info": true, "Set-Cookie": true, "Cookie": true,
	"Age": true, "Expires": true, "Date": true, "Location": true, "Retry-After": true, "Vary": true, "Warning": true,
	"Content-Encoding": true, "Content-Type": true, "Content-Range": true,
}

// dropForbiddenTrailers removes from tr the fields notTrailers names.
func dropForbiddenTrailers(tr http.Header) {
	for k := range tr {
		if notTrailers[http.CanonicalHeaderKey(k)] {
			delete(tr, k)
		}
	}
}

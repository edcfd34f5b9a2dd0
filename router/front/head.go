package front

import (
	"bytes"
	"unsafe"
)

// The front reads each request head before net/http does, to answer the
// requests the router refuses without building them. parseRequestHead reads just
// enough of a head for that: where it ends, how long
// its body is, and the method, target, host and forwarded chain that pick
// the route and the client. It is strict: anything it is not sure net/http
// reads the same way is not for the front to decide.

// headKind is parseRequestHead's verdict.
type headKind uint8

const (
	// headShort: no complete head yet (no blank line).
	headShort headKind = iota
	// headDecide: a plain HTTP/1.1 head the front may answer itself.
	headDecide
	// headPass: a complete head whose length and body length are known, but
	// which only the full path decides (a builtin, an escaped path, an
	// Expect field, a long forwarded chain).
	headPass
	// headRaw: the front cannot tell where this request ends, or whether
	// net/http accepts it (another protocol version, a chunked body, an
	// upgrade, anything malformed): from here on the connection is net/http's
	// alone.
	headRaw
	// headBad: a request line whose version net/http refuses only once the
	// whole head is in (HTTP/0.9, HTTP/2.0 but the h2c preface): the front
	// answers 400 at once and closes the connection.
	headBad
)

// MaxForwarded is how many forwarded-chain fields a head the front decides
// may carry.
const MaxForwarded = 4

// Head is a parsed request head, as a Decider sees it. Its slices point
// into the connection's buffer: they and the strings its methods return
// are valid only during the Decider call it is given to.
type Head struct {
	n       int   // length of the head through its blank line
	length  int64 // Content-Length; 0 when absent
	method  []byte
	path    []byte // the target up to '?'
	query   []byte // the target after '?'
	host    []byte
	ua      []byte // User-Agent, for the access line
	reqID   []byte
	fwd     [MaxForwarded][]byte
	nfwd    int
	closing bool // Connection: close
}

// Method is the request's method.
func (h *Head) Method() string { return viewString(h.method) }

// Path is the request target up to '?', as sent: the front decides only
// heads whose path has no escapes, so it is also the unescaped path.
func (h *Head) Path() string { return viewString(h.path) }

// Query is the request target after '?', as sent ("" when none).
func (h *Head) Query() string { return viewString(h.query) }

// UserAgent is the User-Agent field's value ("" when none).
func (h *Head) UserAgent() string { return viewString(h.ua) }

// Host is the Host field's value.
func (h *Head) Host() string { return viewString(h.host) }

// RequestID is the first X-Request-Id field's value, nil when there is none.
func (h *Head) RequestID() []byte { return h.reqID }

// Closing reports whether the client asked to close (Connection: close).
func (h *Head) Closing() bool { return h.closing }

// AppendForwarded appends the forwarded-chain fields (the Decider's
// ForwardedField), in order, to dst; at most MaxForwarded of them.
func (h *Head) AppendForwarded(dst []string) []string {
	for i := range h.nfwd {
		dst = append(dst, viewString(h.fwd[i]))
	}
	return dst
}

// viewString views b as a string without copying. The string is valid only while
// b's bytes are unchanged: within one request's decision.
func viewString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// parseRequestHead parses the request head at the start of b. fwdName is the
// forwarded-chain field (client_ip.header) in canonical form.
//
// It reads b once, a line at a time: the blank line that ends the head is
// found by the same loop that reads its fields. The request line is judged
// as soon as it is whole (see requestLine); a malformed field line makes
// the head headRaw once the head is whole (until then it is headShort, as
// any incomplete head with a plausible start).
func parseRequestHead(b []byte, fwdName string, h *Head) headKind {
	*h = Head{}
	line, rest, ok := cutLine(b)
	if !ok {
		return incomplete(b)
	}
	kind := requestLine(line, h)
	if kind == headRaw || kind == headBad {
		return kind
	}

	hosts, lengths := 0, 0
	for {
		name, value, next, fk := cutField(rest)
		switch fk {
		case fieldShort:
			return incomplete(b)
		case fieldBad:
			return malformed(b)
		}
		rest = next
		if fk == fieldEnd {
			break
		}
		switch {
		case equalFold(name, "Host"):
			hosts++
			h.host = value
		case equalFold(name, "Content-Length"):
			lengths++
			n, ok := parseLength(value)
			if !ok {
				return malformed(b)
			}
			h.length = n
		case equalFold(name, "Transfer-Encoding"), equalFold(name, "Upgrade"):
			return malformed(b)
		case equalFold(name, "Connection"):
			for len(value) > 0 {
				var tok []byte
				if i := bytes.IndexByte(value, ','); i >= 0 {
					tok, value = trimSpace(value[:i]), value[i+1:]
				} else {
					tok, value = trimSpace(value), nil
				}
				switch {
				case equalFold(tok, "close"):
					h.closing = true
				case equalFold(tok, "upgrade"):
					return malformed(b)
				}
			}
		case equalFold(name, "Expect"):
			kind = headPass
		case equalFold(name, fwdName):
			if h.nfwd == MaxForwarded {
				kind = headPass
				break
			}
			h.fwd[h.nfwd] = value
			h.nfwd++
		case equalFold(name, "X-Request-Id"):
			if h.reqID == nil {
				h.reqID = value
			}
		case equalFold(name, "User-Agent"):
			h.ua = value
		}
	}
	h.n = len(b) - len(rest)
	if hosts != 1 || lengths > 1 || !validHost(h.host) {
		return headRaw // net/http answers 400
	}
	return kind
}

// requestLine reads a whole request line, split as net/http splits it: at
// the first space and the next. METHOD SP TARGET SP HTTP/1.1 with a plain
// origin-form target is the front's (headDecide, or headPass when only
// the full path decides it). A version net/http does not serve is
// headBad. Anything else is headRaw: net/http's at once, which answers a
// malformed line (no version, a bad method, control bytes, odd spacing)
// with 400 without waiting for the rest of the head, and reads the rest
// (HTTP/1.0, "*", the absolute form, CONNECT, the h2c preface) as usual.
func requestLine(line []byte, h *Head) headKind {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return headRaw
	}
	method, rest := line[:sp], line[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return headRaw
	}
	target, proto := rest[:sp], rest[sp+1:]
	if string(proto) != "HTTP/1.1" {
		if refusedVersion(proto) && !(string(method) == "PRI" && string(target) == "*" && string(proto) == "HTTP/2.0") {
			return headBad
		}
		return headRaw
	}
	if !isToken(method) || len(target) == 0 || target[0] != '/' {
		// "*", the absolute form and what is neither: net/http's to read.
		return headRaw
	}
	for _, c := range target {
		if c <= ' ' || c >= 0x7f {
			return headRaw
		}
	}
	h.method, h.path = method, target
	if q := bytes.IndexByte(target, '?'); q >= 0 {
		h.path, h.query = target[:q], target[q+1:]
	}
	if string(method) == "CONNECT" {
		return headRaw
	}
	if bytes.IndexByte(h.path, '%') >= 0 {
		if !validEscapes(h.path) {
			return headRaw // net/http answers 400
		}
		// net/http routes on the unescaped path.
		return headPass
	}
	return headDecide
}

// refusedVersion reports whether proto is a version net/http's server
// reads but does not serve: HTTP/X.Y with X other than 1. (Of those it
// takes only the h2c preface's PRI * HTTP/2.0.)
func refusedVersion(proto []byte) bool {
	return len(proto) == len("HTTP/X.Y") && string(proto[:5]) == "HTTP/" &&
		isDigit(proto[5]) && proto[5] != '1' && proto[6] == '.' && isDigit(proto[7])
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// incomplete is parseRequestHead's verdict on b when its lines so far are fine but
// one is not yet whole: headShort, or headRaw when b cannot be the start of
// a head the front reads (a bare LF in what is left, or nothing like a
// request line at the start).
func incomplete(b []byte) headKind {
	if len(b) > 0 && !validHeadPrefix(b) {
		return headRaw
	}
	return headShort
}

// malformed is parseRequestHead's verdict on b when a line of it is not one the
// front reads: headRaw once the head is whole, else as incomplete says.
func malformed(b []byte) headKind {
	if headEnd(b) >= 0 {
		return headRaw
	}
	return incomplete(b)
}

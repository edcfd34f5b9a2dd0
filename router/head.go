package router

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// The connection front (front.go) reads each request head before net/http
// does, to answer the requests the router refuses without building them.
// parseHead reads just enough of a head for that: where it ends, how long
// its body is, and the method, target, host and forwarded chain that pick
// the route and the client. It is strict: anything it is not sure net/http
// reads the same way is not for the front to decide.

// headKind is parseHead's verdict.
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

// maxFwdLines is how many forwarded-chain fields a head the front decides
// may carry.
const maxFwdLines = 4

// head is a parsed request head. Its slices point into the buffer given to
// parseHead and are valid as long as it is.
type head struct {
	n       int   // length of the head through its blank line
	length  int64 // Content-Length; 0 when absent
	method  []byte
	path    []byte // the target up to '?'
	host    []byte
	reqID   []byte
	fwd     [maxFwdLines][]byte
	nfwd    int
	closing bool // Connection: close
}

// parseHead parses the request head at the start of b. fwdName is the
// forwarded-chain field (client_ip.header) in canonical form.
//
// It reads b once, a line at a time: the blank line that ends the head is
// found by the same loop that reads its fields. The request line is judged
// as soon as it is whole (see requestLine); a malformed field line makes
// the head headRaw once the head is whole (until then it is headShort, as
// any incomplete head with a plausible start).
func parseHead(b []byte, fwdName string, h *head) headKind {
	*h = head{}
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
			if h.nfwd == maxFwdLines {
				kind = headPass
				break
			}
			h.fwd[h.nfwd] = value
			h.nfwd++
		case equalFold(name, "X-Request-Id"):
			if h.reqID == nil {
				h.reqID = value
			}
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
func requestLine(line []byte, h *head) headKind {
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
		h.path = target[:q]
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

// incomplete is parseHead's verdict on b when its lines so far are fine but
// one is not yet whole: headShort, or headRaw when b cannot be the start of
// a head the front reads (a bare LF in what is left, or nothing like a
// request line at the start).
func incomplete(b []byte) headKind {
	if len(b) > 0 && !validHeadPrefix(b) {
		return headRaw
	}
	return headShort
}

// malformed is parseHead's verdict on b when a line of it is not one the
// front reads: headRaw once the head is whole, else as incomplete says.
func malformed(b []byte) headKind {
	if headEnd(b) >= 0 {
		return headRaw
	}
	return incomplete(b)
}

// What cutField found at the start of a head's fields.
const (
	fieldOK    = iota // a field
	fieldEnd          // the blank line
	fieldShort        // not yet a whole line
	fieldBad          // a line that is not a field the front reads
)

// cutField reads the field line at the start of b: a token, a colon and a
// value without control bytes but tab and without DEL, through its CRLF.
// It returns the name, the value with its surrounding blanks trimmed, and
// what follows the line. The value is scanned for the first control byte
// eight bytes at a time: the line's CR, or a byte that makes it bad.
func cutField(b []byte) (name, value, rest []byte, kind int) {
	if len(b) > 0 && b[0] == '\r' {
		switch {
		case len(b) == 1:
			return nil, nil, nil, fieldShort
		case b[1] == '\n':
			return nil, nil, b[2:], fieldEnd
		}
		return nil, nil, nil, fieldBad
	}
	i := 0
	for i < len(b) && tokenByte[b[i]] {
		i++
	}
	switch {
	case i == len(b):
		return nil, nil, nil, fieldShort
	case i == 0 || b[i] != ':':
		return nil, nil, nil, fieldBad // includes obs-fold: a line starting with a space
	}
	j := i + 1
	for {
		j = nextControl(b, j)
		switch {
		case j == len(b):
			return nil, nil, nil, fieldShort
		case b[j] == '\t':
			j++
			continue
		case b[j] != '\r':
			return nil, nil, nil, fieldBad
		case j+1 == len(b):
			return nil, nil, nil, fieldShort
		case b[j+1] != '\n':
			return nil, nil, nil, fieldBad
		}
		return b[:i], trimSpace(b[i+1 : j]), b[j+2:], fieldOK
	}
}

// nextControl returns the index of the first byte of b from i on that is a
// control byte (below 0x20) or DEL, or len(b): eight bytes at a time. (Of
// the bytes the word tests flag, the lowest is always one: a false flag
// comes only from a borrow out of a lower flagged byte.)
func nextControl(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		y := x ^ 0x7f*ones // DEL becomes 0
		if m := ((x-0x20*ones)&^x | (y-ones)&^y) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < ' ' || c == 0x7f {
			return i
		}
	}
	return i
}

// tokenByte is tokenChar over every byte value.
var tokenByte = func() (t [256]bool) {
	copy(t[:], tokenChar[:])
	return t
}()

// headEnd returns the length of the head at the start of b through its
// "\r\n\r\n", or -1 when b holds no complete head.
func headEnd(b []byte) int {
	if i := bytes.Index(b, crlfcrlf); i >= 0 {
		return i + 4
	}
	return -1
}

var crlfcrlf = []byte("\r\n\r\n")

// validHeadPrefix reports whether an incomplete head can still become one
// the front reads: it has no bare LF and starts like a request line. A
// client that sends anything else is net/http's at once, so net/http's own
// limits and answers apply.
func validHeadPrefix(b []byte) bool {
	if b[0] == '\r' || b[0] == '\n' || b[0] == ' ' {
		return false
	}
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return false
		}
	}
	return true
}

// cutLine splits b after its first LF, which must follow a CR. (A bare CR
// left inside the line fails the callers' character checks.)
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 1 || b[i-1] != '\r' {
		return nil, nil, false
	}
	return b[:i-1], b[i+1:], true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold compares ASCII case-insensitively.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// parseLength parses a Content-Length value: decimal digits only, as
// net/http requires, at most 18 of them.
func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// isToken reports whether b is a non-empty RFC 9110 token.
func isToken(b []byte) bool { return len(b) > 0 && inSet(b, &tokenChar) }

// validHost reports whether net/http's server accepts b as a Host field
// (the bytes of RFC 3986's host and port, and '%' of IPv6 zones).
func validHost(b []byte) bool { return inSet(b, &hostChar) }

// inSet reports whether every byte of b is in set.
func inSet(b []byte, set *[128]bool) bool {
	for _, c := range b {
		if c >= 0x80 || !set[c] {
			return false
		}
	}
	return true
}

var hostChar = asciiSet("!$%&'()*+,-.:;=[]_~")

var tokenChar = asciiSet("!#$%&'*+-.^_`|~")

// asciiSet is a membership table of the digits, the letters and extra.
func asciiSet(extra string) (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-32] = true, true
	}
	for _, c := range extra {
		t[c] = true
	}
	return t
}

// validEscapes reports whether every '%' in path starts an escape of two
// hex digits, as net/http's URL parser requires of a path.
func validEscapes(path []byte) bool {
	for i := 0; i < len(path); i++ {
		if path[i] != '%' {
			continue
		}
		if i+2 >= len(path) || !isHex(path[i+1]) || !isHex(path[i+2]) {
			return false
		}
		i += 2
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

package front

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// The byte-level reads of parseRequestHead: field lines, control bytes, character
// sets.

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

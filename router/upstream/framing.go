package upstream

import (
	"bufio"
	"bytes"
)

// lengthFields reports, for the response head at the start of br, whether
// it has both a Content-Length and a Transfer-Encoding field (both), and
// whether the whole head could be looked at (seen: it fits in br's buffer).
// It waits for the head as http.ReadResponse would; an error is left for
// that to report.
//
// http.ReadResponse lets Transfer-Encoding win and drops Content-Length
// without a word. Such an answer may be a response splitting attempt
// (RFC 9112, section 6.3): it is served as the Transfer-Encoding frames
// it, but its connection is not used again.
func lengthFields(br *bufio.Reader) (both, seen bool) {
	from := 0
	for {
		b, _ := br.Peek(br.Buffered())
		if end := headEnd(b, from); end >= 0 {
			cl, te := scanFields(b[:end])
			return cl && te, true
		}
		if len(b) >= br.Size() {
			return false, false
		}
		from = max(len(b)-2, 0)
		if _, err := br.Peek(len(b) + 1); err != nil {
			return false, false
		}
	}
}

// headEnd returns the length of the head at the start of b (up to and with
// its empty line, CRLF or bare LF as textproto allows), or -1 when b does
// not hold it all. The search starts at from.
func headEnd(b []byte, from int) int {
	for i := from; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
	return -1
}

// scanFields reports whether the fields of head (after its status line)
// name Content-Length and Transfer-Encoding, in any case.
func scanFields(head []byte) (cl, te bool) {
	i := bytes.IndexByte(head, '\n')
	for i >= 0 && i < len(head) {
		line := head[i+1:]
		if n := bytes.IndexByte(line, '\n'); n >= 0 {
			line = line[:n]
		}
		cl = cl || hasPrefixFold(line, "content-length:")
		te = te || hasPrefixFold(line, "transfer-encoding:")
		i += len(line) + 1
	}
	return cl, te
}

// hasPrefixFold reports whether b starts with lower, an ASCII lower-case
// string, in any case.
func hasPrefixFold(b []byte, lower string) bool {
	if len(b) < len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

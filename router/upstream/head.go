package upstream

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"strings"
)

// readResponse reads one response head from br, and sets up its body.
//
// Most answers are of one kind: HTTP/1.1, a final status with a body, a
// Content-Length, fields in plain "Name: value" lines, the whole head in
// the buffer already. parseResponseHead reads those itself, into one string for
// the head and one slice for the values, and lr becomes the body. Anything
// else, and anything parseResponseHead is not sure http.ReadResponse reads the same
// way, is left to http.ReadResponse, which reads it from the start; a head
// with both Content-Length and Transfer-Encoding then closes the
// connection after it.
func readResponse(br *bufio.Reader, req *http.Request, lr *lengthReader) (*http.Response, error) {
	if req.Method != http.MethodHead {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF // as http.ReadResponse says it
				}
				return nil, err
			}
		}
		b, _ := br.Peek(br.Buffered())
		if resp, n := parseResponseHead(b); resp != nil {
			br.Discard(n)
			resp.Request = req
			if resp.ContentLength == 0 {
				resp.Body = http.NoBody
			} else {
				*lr = lengthReader{r: br, n: resp.ContentLength}
				resp.Body = lr
			}
			return resp, nil
		}
	}
	both, seen := lengthFields(br)
	resp, err := http.ReadResponse(br, req)
	if err == nil && (both || !seen && resp.TransferEncoding != nil) {
		resp.Close = true // see lengthFields
	}
	return resp, err
}

// maxHeadFields is how many fields parseResponseHead takes; a head with more goes
// to http.ReadResponse.
const maxHeadFields = 64

// parseResponseHead parses the response head at the start of b, when it is whole
// and of the common kind (see readResponse). It returns the response
// without Request and Body, and the head's length; or nil.
//
//house:long a hot parser loop over the head's bytes, which reads best whole.
func parseResponseHead(b []byte) (*http.Response, int) {
	const proto = "HTTP/1.1 "
	line, rest, ok := cutCRLF(b)
	if !ok || len(line) < len(proto)+3 || string(line[:len(proto)]) != proto {
		return nil, 0
	}
	status := line[len(proto):]
	code := 0
	for _, c := range status[:3] {
		if c < '0' || c > '9' {
			return nil, 0
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code > 599 || code == http.StatusNoContent || code == http.StatusNotModified {
		return nil, 0 // informational, or no body whatever the fields say
	}
	if len(status) > 3 && status[3] != ' ' || !validValue(status) {
		return nil, 0
	}

	// The fields: count them, check them, find the head's end.
	nf := 0
	for p := rest; ; nf++ {
		var l []byte
		if l, p, ok = cutCRLF(p); !ok {
			return nil, 0 // not all in the buffer, or a bare CR or LF
		}
		if len(l) == 0 {
			rest = p
			break
		}
		if nf == maxHeadFields {
			return nil, 0
		}
		i := bytes.IndexByte(l, ':')
		if i <= 0 || !validToken(l[:i]) || !validValue(l[i+1:]) {
			return nil, 0 // also a line starting with a space: a folded one
		}
	}
	n := len(b) - len(rest)

	// One string holds the head: the status and every name and value are
	// pieces of it.
	s := string(b[:n])
	resp := &http.Response{
		Status:     s[len(proto) : len(proto)+len(status)],
		StatusCode: code,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, nf),
	}
	vals := make([]string, nf)
	h := resp.Header
	p := s[len(proto)+len(status)+2:]
	for {
		l, r, _ := strings.Cut(p, "\r\n")
		if l == "" {
			break
		}
		p = r
		name, value, _ := strings.Cut(l, ":")
		name = canonicalName(name)
		value = textproto.TrimString(value) // no CR or LF in it: spaces and tabs
		if vv, ok := h[name]; ok {
			h[name] = append(vv, value)
			continue
		}
		vv := vals[:1:1]
		vals = vals[1:]
		vv[0] = value
		h[name] = vv
	}

	// Framing: exactly one Content-Length, no Transfer-Encoding, and a
	// connection kept open. What http.ReadResponse changes in the fields
	// (Pragma) or reads otherwise goes to it.
	if _, ok := h["Transfer-Encoding"]; ok {
		return nil, 0
	}
	if _, ok := h["Pragma"]; ok {
		return nil, 0
	}
	if hasToken(h["Connection"], "close") {
		return nil, 0
	}
	cl := h["Content-Length"]
	if len(cl) != 1 {
		return nil, 0
	}
	length, ok := parseLength(cl[0])
	if !ok {
		return nil, 0
	}
	resp.ContentLength = length
	return resp, n
}

// cutCRLF cuts b at its first line end, which must be a CRLF with no CR or
// LF before it; ok is false otherwise, or when b has no line end.
func cutCRLF(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 1 || b[i-1] != '\r' || bytes.IndexByte(b[:i-1], '\r') >= 0 {
		return nil, nil, false
	}
	return b[:i-1], b[i+1:], true
}

// canonicalName returns a field name in canonical form: itself when it is
// already, which is how most backends send them.
func canonicalName(s string) string {
	upper := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return textproto.CanonicalMIMEHeaderKey(s)
		}
		upper = c == '-'
	}
	return s
}

// parseLength parses a Content-Length value: 1 to 18 digits.
func parseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// lengthReader is a body of known length read from the connection's
// buffer: EOF at its end, io.ErrUnexpectedEOF if the connection ends first
// (as net/http's body says).
type lengthReader struct {
	r *bufio.Reader
	n int64
}

// Close does nothing: the body that owns the connection closes it.
func (l *lengthReader) Close() error { return nil }

func (l *lengthReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n == 0 {
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

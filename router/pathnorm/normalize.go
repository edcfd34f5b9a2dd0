package pathnorm

import "errors"

// EscapedSlashes says what the backend receives for an escaped slash (%2F)
// or backslash (%5C). It never changes Match.
type EscapedSlashes uint8

const (
	// Keep sends them as the client did (still escaped, upper case).
	Keep EscapedSlashes = iota
	// Unescape sends %2F as a slash, a path separator from then on. A
	// backslash cannot travel raw in a request target, so %5C stays %5C.
	Unescape
	// Reject makes a path holding either, or a raw backslash, an error.
	Reject
)

// Options are Normalize's settings. The zero value removes dot segments,
// keeps runs of slashes and keeps escaped slashes.
type Options struct {
	// MergeSlashes merges runs of slashes into one ("//a///b" is "/a/b").
	MergeSlashes bool
	// EscapedSlashes is what becomes of %2F and %5C in Send.
	EscapedSlashes EscapedSlashes
}

// Path is a normalised path.
type Path struct {
	// Match is the decoded path that routes match.
	Match string
	// Send is the escaped path to send to the backend.
	Send string
	// Unescaped is Send percent-decoded: the url.URL Path whose RawPath is
	// Send. It equals Match unless an escaped slash kept in Send makes a
	// dot segment or an empty one once decoded ("/a%2F..%2Fb" in Keep).
	Unescaped string
}

// Errors for paths that cannot be normalised safely. Each is the client's
// fault.
var (
	ErrNotOrigin    = errors.New("pathnorm: path does not start with /")
	ErrBadEscape    = errors.New("pathnorm: invalid percent escape")
	ErrControl      = errors.New("pathnorm: control character in path")
	ErrEscapedSlash = errors.New("pathnorm: escaped slash or backslash in path")
)

// Normalize normalises raw, a request target's path as sent (escaped, no
// query). See the package documentation for the forms it returns.
func Normalize(raw string, o Options) (Path, error) {
	if raw == "" || raw[0] != '/' {
		return Path{}, ErrNotOrigin
	}
	if isNormal(raw, o.MergeSlashes) {
		return Path{Match: raw, Send: raw, Unescaped: raw}, nil
	}
	b, esc, err := escapes(raw, o.EscapedSlashes)
	if err != nil {
		return Path{}, err
	}
	b = segments(b, o.MergeSlashes)
	send := string(b)
	if !esc.any {
		return Path{Match: send, Send: send, Unescaped: send}, nil
	}
	dec := unescape(b)
	p := Path{Send: send, Unescaped: string(dec)}
	p.Match = p.Unescaped
	if esc.slash {
		// A kept %2F is a separator for matching: normalise again.
		if m := segments(dec, o.MergeSlashes); string(m) != p.Unescaped {
			p.Match = string(m)
		}
	}
	return p, nil
}

// isNormal reports whether p, which starts with '/', is its own normal form.
func isNormal(p string, merge bool) bool {
	seg := 1 // start of the current segment
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			if !plain[p[i]] {
				return false
			}
			continue
		}
		switch i - seg {
		case 0:
			if merge && i < len(p) {
				return false
			}
		case 1:
			if p[seg] == '.' {
				return false
			}
		case 2:
			if p[seg] == '.' && p[seg+1] == '.' {
				return false
			}
		}
		seg = i + 1
	}
	return true
}

// escaped is what escapes found in a path.
type escaped struct {
	any   bool // Send holds a '%'
	slash bool // Send holds a %2F
}

// escapes returns raw with its escapes normalised: unreserved characters
// decoded, other escapes in upper case, bytes a path may not hold raw
// escaped, and escaped slashes as es says.
func escapes(raw string, es EscapedSlashes) ([]byte, escaped, error) {
	var e escaped
	b := make([]byte, 0, len(raw)+8)
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return nil, e, ErrBadEscape
			}
			v := unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
			switch {
			case v < 0x20 || v == 0x7f:
				return nil, e, ErrControl
			case unreserved[v]:
				b = append(b, v)
				continue
			case v == '/' && es == Unescape:
				b = append(b, '/')
				continue
			case (v == '/' || v == '\\') && es == Reject:
				return nil, e, ErrEscapedSlash
			}
			e.slash = e.slash || v == '/'
			e.any = true
			b = append(b, '%', upperHex[v>>4], upperHex[v&15])
		case c < 0x20 || c == 0x7f:
			return nil, e, ErrControl
		case c == '\\' && es == Reject:
			return nil, e, ErrEscapedSlash
		case plain[c] || c == '/':
			b = append(b, c)
		default:
			e.any = true
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b, e, nil
}

// segments removes the dot segments of b (which starts with '/') in place,
// merging runs of slashes first when merge is set, and returns the result.
// A last segment that is "", "." or ".." leaves a trailing slash; ".."
// above the root stays at the root (RFC 3986, 5.2.4).
func segments(b []byte, merge bool) []byte {
	w := 0 // b[:w] is the output so far: "" or "/seg" repeated
	for s := 1; s <= len(b); {
		e := s
		for e < len(b) && b[e] != '/' {
			e++
		}
		last := e == len(b)
		seg := b[s:e]
		switch {
		case len(seg) == 1 && seg[0] == '.':
			if last {
				b[w] = '/'
				w++
			}
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			for w > 0 {
				w--
				if b[w] == '/' {
					break
				}
			}
			if last {
				b[w] = '/'
				w++
			}
		case len(seg) == 0 && merge && !last:
		default:
			b[w] = '/'
			w += 1 + copy(b[w+1:], seg)
		}
		s = e + 1
	}
	if w == 0 {
		b[0] = '/'
		w = 1
	}
	return b[:w]
}

// unescape returns b, whose escapes are all valid, percent-decoded in a
// new slice.
func unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '%' {
			out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
			i += 2
			continue
		}
		out = append(out, b[i])
	}
	return out
}

const upperHex = "0123456789ABCDEF"

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// unreserved are RFC 3986's unreserved characters; plain are the bytes a
// path segment may hold raw: unreserved, sub-delims, ':' and '@' (RFC 3986,
// 3.3), and '[' and ']', which net/url also leaves raw.
var unreserved, plain = func() (u, p [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		u[c], u[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		u[c] = true
	}
	for _, c := range "-._~" {
		u[c] = true
	}
	p = u
	for _, c := range "!$&'()*+,;=:@[]" {
		p[c] = true
	}
	return u, p
}()

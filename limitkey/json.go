package limitkey

import (
	"bytes"
	"encoding/json"
	"strings"
)

// maxJSONDepth bounds the nesting JSONField skips through.
const maxJSONDepth = 64

// JSONField returns the string or number at the top-level field name of a
// JSON object, scanning body once without building it. Keys are compared
// without case, after their escapes are decoded, as lenient backends
// (Go's encoding/json) match them: {"User":..} or {"us\u0065r":..} is the
// field too. The field twice is Duplicate (which one a backend reads
// depends on its parser). A body that is not an object, is cut short or
// malformed before the field, or holds it as another type is Missing.
func JSONField(body []byte, name string) (string, Result) {
	s := jsonScan{b: body}
	if !s.byte('{') {
		return "", Missing
	}
	var v string
	found := false
	for {
		s.ws()
		if s.peek() == '}' || s.i >= len(s.b) {
			break
		}
		raw, esc, ok := s.str()
		if !ok || !s.byte(':') {
			break
		}
		if !keyIs(raw, esc, name) {
			if !s.skip(0) {
				break
			}
		} else {
			if found {
				return "", Duplicate
			}
			found = true
			s.ws()
			switch c := s.peek(); {
			case c == '"':
				raw, esc, ok := s.str()
				if !ok {
					return "", Missing
				}
				v = unquote(raw, esc)
			case c == '-' || c >= '0' && c <= '9':
				start := s.i
				for s.i < len(s.b) && strings.IndexByte("+-.eE0123456789", s.b[s.i]) >= 0 {
					s.i++
				}
				v = string(s.b[start:s.i])
			default:
				if !s.skip(0) {
					return "", Missing
				}
			}
		}
		s.ws()
		if s.peek() != ',' {
			break
		}
		s.i++
	}
	if !found || v == "" {
		return "", Missing
	}
	return v, Found
}

// keyIs reports whether the raw key (between its quotes) is name.
func keyIs(raw []byte, esc bool, name string) bool {
	if !esc {
		return len(raw) == len(name) && strings.EqualFold(string(raw), name)
	}
	return strings.EqualFold(unquote(raw, esc), name)
}

// unquote decodes a JSON string's content; escapes are rare, and cost an
// allocation or two.
func unquote(raw []byte, esc bool) string {
	if !esc {
		return string(raw)
	}
	var out string
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	if json.Unmarshal(q, &out) != nil {
		return ""
	}
	return out
}

// jsonScan reads a JSON text from b at i.
type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScan) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// byte skips white space and then c, reporting whether c was there.
func (s *jsonScan) byte(c byte) bool {
	s.ws()
	if s.peek() != c {
		return false
	}
	s.i++
	return true
}

// str reads a string at s.i (after white space): its raw content and
// whether it has escapes.
func (s *jsonScan) str() (raw []byte, esc, ok bool) {
	if !s.byte('"') {
		return nil, false, false
	}
	start := s.i
	for {
		j := bytes.IndexAny(s.b[s.i:], "\"\\")
		if j < 0 {
			s.i = len(s.b)
			return nil, false, false
		}
		s.i += j
		if s.b[s.i] == '"' {
			raw = s.b[start:s.i]
			s.i++
			return raw, esc, true
		}
		esc = true
		s.i += 2
		if s.i > len(s.b) {
			return nil, false, false
		}
	}
}

// skip reads one value at s.i (after white space), nested depth deep.
func (s *jsonScan) skip(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	s.ws()
	switch c := s.peek(); c {
	case '"':
		_, _, ok := s.str()
		return ok
	case '{', '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		s.i++
		s.ws()
		if s.peek() == end {
			s.i++
			return true
		}
		for {
			if c == '{' {
				if _, _, ok := s.str(); !ok || !s.byte(':') {
					return false
				}
			}
			if !s.skip(depth + 1) {
				return false
			}
			s.ws()
			switch s.peek() {
			case ',':
				s.i++
			case end:
				s.i++
				return true
			default:
				return false
			}
		}
	case 0:
		return false
	default:
		start := s.i
		for s.i < len(s.b) && strings.IndexByte(",}] \t\r\n", s.b[s.i]) < 0 {
			s.i++
		}
		return s.i > start
	}
}

package config

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Placeholder is what a header value's {name} stands for.
type Placeholder uint8

const (
	PlainText      Placeholder = iota // ValuePart.Text as is
	PlaceClientIP                     // {client_ip}: the client's address
	PlaceRequestID                    // {request_id}: the request id
	PlaceRoute                        // {route}: the route's stats name
)

var placeholders = map[string]Placeholder{
	"client_ip":  PlaceClientIP,
	"request_id": PlaceRequestID,
	"route":      PlaceRoute,
}

// ValuePart is a piece of a header value template.
type ValuePart struct {
	Kind Placeholder
	Text string // the literal text when Kind is PlainText
}

// ParseHeaderValue splits a header value template into literal text and
// placeholders. A "{" begins a placeholder that ends at the next "}";
// "{{" is a literal "{". It fails on an unknown or unclosed placeholder
// and on bytes a field value may not hold (control characters but tab).
func ParseHeaderValue(s string) ([]ValuePart, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return nil, fmt.Errorf("value holds the control byte %#02x (CR, LF and NUL are never allowed)", c)
		}
	}
	var parts []ValuePart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, ValuePart{Text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '{' {
			lit.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '{' {
			lit.WriteByte('{')
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unclosed placeholder %q (write {{ for a literal {)", s[i:])
		}
		name := s[i+1 : i+end]
		k, ok := placeholders[name]
		if !ok {
			return nil, fmt.Errorf("unknown placeholder {%s}%s", name, didYouMeanPlaceholder(name))
		}
		flush()
		parts = append(parts, ValuePart{Kind: k})
		i += end
	}
	flush()
	return parts, nil
}

func didYouMeanPlaceholder(name string) string {
	names := make([]string, 0, len(placeholders))
	for n := range placeholders {
		names = append(names, n)
	}
	sort.Strings(names)
	if s := didYouMean(name, names, "?"); s != "" {
		return " (" + s + ")"
	}
	return " (want {client_ip}, {request_id} or {route})"
}

// validToken reports whether s is an HTTP token (RFC 9110, section 5.6.2).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// headerNotEditable says why a route may not edit a field, "" when it may.
func headerNotEditable(name string, request bool) string {
	switch http.CanonicalHeaderKey(name) {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Upgrade":
		return "a hop-by-hop field, for one connection only"
	case "Transfer-Encoding", "Content-Length":
		return "it frames the message; the router and net/http set it"
	case "Host":
		return "the router sends the client's Host"
	case "X-Request-Id":
		return "the router sets it to the request id on both sides"
	case "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host":
		if request {
			return "the router sets it from the connection"
		}
	}
	return ""
}

// headerEdits checks one route's headers.request or headers.response.
func (v *validator) headerEdits(p string, e HeaderEdits, request bool) {
	seen := map[string]string{} // canonical name -> the key path that named it
	name := func(kp, n string) {
		if !validToken(n) {
			v.fail(kp, "invalid field name %q (want an HTTP token)", n)
			return
		}
		if why := headerNotEditable(n, request); why != "" {
			v.fail(kp, "%s may not be edited: %s", http.CanonicalHeaderKey(n), why)
			return
		}
		cn := http.CanonicalHeaderKey(n)
		if prev, ok := seen[cn]; ok {
			v.fail(kp, "%s is edited twice (also %s)", cn, prev)
			return
		}
		seen[cn] = kp
	}
	for i, n := range e.Remove {
		name(fmt.Sprintf("%s.remove[%d]", p, i), n)
	}
	for _, op := range []struct {
		key string
		m   map[string]string
	}{{"set", e.Set}, {"add", e.Add}} {
		for _, n := range sortedKeys(op.m) {
			kp := p + "." + op.key + "." + n
			name(kp, n)
			if _, err := ParseHeaderValue(op.m[n]); err != nil {
				v.fail(kp, "%v", err)
			}
		}
	}
}

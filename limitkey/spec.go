package limitkey

import (
	"fmt"
	"strings"
)

// Kind is what a policy's buckets belong to.
type Kind uint8

const (
	Client  Kind = iota // the client address (IPv6 grouped): the default
	Network             // the client's network (per_network prefixes)
	Header              // a request header field's value
	Cookie              // a cookie's value
	Query               // a query parameter's value
	JSON                // a top-level field of a JSON body
	Form                // a field of a form body
	Expr                // a rule expression's string result (package rules evaluates it)
)

// Spec is a parsed limits.POLICY.key.
type Spec struct {
	Kind Kind
	Name string // the field, header, cookie or parameter name
	Fold bool   // key_fold: lower
}

// Body reports whether the key is read from the request body.
func (s Spec) Body() bool { return s.Kind == JSON || s.Kind == Form }

// Keyed reports whether the key is a value of the request (hashed), not
// the client or its network.
func (s Spec) Keyed() bool { return s.Kind >= Header }

// MaxExpr bounds an expr: key's expression.
const MaxExpr = 4 << 10

// ParseSpec parses a key: client, network, header:NAME, cookie:NAME,
// query:NAME, json:FIELD, form:FIELD or expr:EXPRESSION ("" is client).
func ParseSpec(s string) (Spec, error) {
	switch s {
	case "", "client":
		return Spec{Kind: Client}, nil
	case "network":
		return Spec{Kind: Network}, nil
	}
	if e, ok := strings.CutPrefix(s, "expr:"); ok {
		if strings.TrimSpace(e) == "" || len(e) > MaxExpr {
			return Spec{}, fmt.Errorf("invalid key %q (expr: wants an expression of at most %d bytes)", s, MaxExpr)
		}
		return Spec{Kind: Expr, Name: e}, nil
	}
	kind, name, ok := strings.Cut(s, ":")
	if !ok || name == "" || len(name) > 128 || strings.ContainsAny(name, " \t\r\n") {
		return Spec{}, fmt.Errorf("invalid key %q (want client, network, header:NAME, cookie:NAME, query:NAME, json:FIELD, form:FIELD or expr:EXPRESSION)", s)
	}
	switch kind {
	case "header":
		return Spec{Kind: Header, Name: name}, nil
	case "cookie":
		return Spec{Kind: Cookie, Name: name}, nil
	case "query":
		return Spec{Kind: Query, Name: name}, nil
	case "json":
		return Spec{Kind: JSON, Name: name}, nil
	case "form":
		return Spec{Kind: Form, Name: name}, nil
	}
	return Spec{}, fmt.Errorf("invalid key %q (want client, network, header:NAME, cookie:NAME, query:NAME, json:FIELD, form:FIELD or expr:EXPRESSION)", s)
}

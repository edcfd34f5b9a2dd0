package rules

import (
	"strings"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/overloads"

	"github.com/bulwark-router/bulwark/rules/celenv"
)

// prefilter is what a rule's expression requires of a request's method,
// host and path, found in the terms its top-level && joins: a request that
// fails it cannot match, so the expression is not evaluated. Only exact
// requirements are taken (request.method == "X", request.method in [...],
// request.host == "h", request.path == "/p", request.path.startsWith("/p")),
// so the filter never turns away a request the expression would match.
type prefilter struct {
	methods    []string // nil: any method
	host       string   // "": any host
	hostSet    bool
	pathPrefix string // "" matches every path
	pathExact  bool   // pathPrefix is the whole path
}

// match reports whether a request of method, host and path may match.
func (p *prefilter) match(method, host, path string) bool {
	if p.methods != nil {
		ok := false
		for _, m := range p.methods {
			if m == method {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if p.hostSet && p.host != host {
		return false
	}
	if p.pathExact {
		return path == p.pathPrefix
	}
	return strings.HasPrefix(path, p.pathPrefix)
}

// any reports whether the filter lets every request through.
func (p *prefilter) any() bool {
	return p.methods == nil && !p.hostSet && p.pathPrefix == "" && !p.pathExact
}

// extractPrefilter reads the prefilter from a checked expression.
func extractPrefilter(e ast.Expr) prefilter {
	var p prefilter
	for _, t := range conjuncts(e, nil) {
		p.take(t)
	}
	return p
}

// conjuncts appends the terms of the && chain e.
func conjuncts(e ast.Expr, out []ast.Expr) []ast.Expr {
	if e.Kind() == ast.CallKind && e.AsCall().FunctionName() == operators.LogicalAnd {
		for _, a := range e.AsCall().Args() {
			out = conjuncts(a, out)
		}
		return out
	}
	return append(out, e)
}

// take narrows p with term t when t is one of the forms it knows. A
// second requirement on the same name is ignored: the first one is a
// sound filter on its own.
func (p *prefilter) take(t ast.Expr) {
	if t.Kind() != ast.CallKind {
		return
	}
	c := t.AsCall()
	args := c.Args()
	switch c.FunctionName() {
	case operators.Equals:
		if len(args) != 2 {
			return
		}
		name, val, ok := identAndString(args[0], args[1])
		if !ok {
			name, val, ok = identAndString(args[1], args[0])
		}
		if !ok {
			return
		}
		switch name {
		case celenv.VarMethod:
			if p.methods == nil {
				p.methods = []string{val}
			}
		case celenv.VarHost:
			if !p.hostSet {
				p.host, p.hostSet = val, true
			}
		case celenv.VarPath:
			if p.pathPrefix == "" && !p.pathExact {
				p.pathPrefix, p.pathExact = val, true
			}
		}
	case operators.In:
		if len(args) != 2 || ident(args[0]) != celenv.VarMethod || args[1].Kind() != ast.ListKind || p.methods != nil {
			return
		}
		var ms []string
		for _, el := range args[1].AsList().Elements() {
			s, ok := stringLit(el)
			if !ok {
				return
			}
			ms = append(ms, s)
		}
		if ms != nil {
			p.methods = ms
		}
	case overloads.StartsWith:
		if !c.IsMemberFunction() || len(args) != 1 || ident(c.Target()) != celenv.VarPath {
			return
		}
		if s, ok := stringLit(args[0]); ok && p.pathPrefix == "" && !p.pathExact {
			p.pathPrefix = s
		}
	}
}

func ident(e ast.Expr) string {
	if e.Kind() == ast.IdentKind {
		return e.AsIdent()
	}
	return ""
}

func stringLit(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().Value().(string)
	return s, ok
}

func identAndString(a, b ast.Expr) (string, string, bool) {
	name := ident(a)
	if name == "" {
		return "", "", false
	}
	s, ok := stringLit(b)
	return name, s, ok
}

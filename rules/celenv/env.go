// Package celenv is the expression language rules and keys are written
// in: the names a CEL expression may use, in_network, and the compiler
// with its bounds. It imports nothing of bulwark, so the config package
// checks expressions with it and package rules runs them.
package celenv

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// Var* are the names an expression may use. Maps are keyed by lower-cased names
// (headers) or as sent (query parameters, cookies); a missing key makes the
// expression an error, which is no match: test with `"x" in request.headers`
// first, or use request.headers[?"x"].orValue("").
const (
	VarMethod    = "request.method"     // string, as sent ("GET")
	VarHost      = "request.host"       // string, the Host field as sent
	VarPath      = "request.path"       // string, decoded and normalised
	VarQuery     = "request.query"      // map(string, string), first values
	VarHeaders   = "request.headers"    // map(string, string), values joined by ", "
	VarCookies   = "request.cookies"    // map(string, string)
	VarBodySize  = "request.body_size"  // int, Content-Length; -1 when unknown
	VarUserAgent = "request.user_agent" // string
	VarIP        = "client.ip"          // string
	VarNetwork   = "client.network"     // string, the /24 or /48 (CIDR)
	VarClass     = "client.class"       // string: new, known, suspect, allowlisted
	// Bodies, read only on routes that inspect them (routes[].inspect_body
	// or a json:/form: key); elsewhere both maps are empty.
	VarJSON = "request.json" // map(string, string): top-level scalar fields
	VarForm = "request.form" // map(string, string): form fields, first values
)

// maxExprChars bounds an expression's length, maxRecursion its nesting.
const (
	maxExprChars = 4 << 10
	maxRecursion = 32
)

// env returns the expression environment, built on first use.
var env = sync.OnceValues(func() (*cel.Env, error) {
	strMap := cel.MapType(cel.StringType, cel.StringType)
	return cel.NewEnv(
		cel.Variable(VarMethod, cel.StringType),
		cel.Variable(VarHost, cel.StringType),
		cel.Variable(VarPath, cel.StringType),
		cel.Variable(VarQuery, strMap),
		cel.Variable(VarHeaders, strMap),
		cel.Variable(VarCookies, strMap),
		cel.Variable(VarBodySize, cel.IntType),
		cel.Variable(VarUserAgent, cel.StringType),
		cel.Variable(VarIP, cel.StringType),
		cel.Variable(VarNetwork, cel.StringType),
		cel.Variable(VarClass, cel.StringType),
		cel.Variable(VarJSON, strMap),
		cel.Variable(VarForm, strMap),
		cel.OptionalTypes(),
		cel.ParserExpressionSizeLimit(maxExprChars),
		cel.ParserRecursionLimit(maxRecursion),
		cel.Function("in_network",
			cel.Overload("in_network_string_string", []*cel.Type{cel.StringType, cel.StringType}, cel.BoolType,
				cel.BinaryBinding(inNetwork))),
	)
})

// inNetwork is in_network(ip, cidr): whether the address ip is in cidr.
// An invalid address or CIDR is false.
func inNetwork(ip, cidr ref.Val) ref.Val {
	s, ok1 := ip.(types.String)
	c, ok2 := cidr.(types.String)
	if !ok1 || !ok2 {
		return types.False
	}
	a, err := netip.ParseAddr(string(s))
	if err != nil {
		return types.False
	}
	p, err := netip.ParsePrefix(string(c))
	if err != nil {
		return types.False
	}
	return types.Bool(p.Contains(a.Unmap()))
}

// Compile type-checks a rule's condition and makes its program.
func Compile(expr string) (*cel.Ast, cel.Program, error) { return CompileAs(expr, cel.BoolType) }

func wantName(t *cel.Type) string {
	if t == cel.BoolType {
		return "a condition (bool)"
	}
	return "a " + t.String()
}

// ReadsBody reports whether a checked expression reads request.json or
// request.form.
func ReadsBody(ast *cel.Ast) bool {
	for _, r := range ast.NativeRep().ReferenceMap() {
		if r.Name == VarJSON || r.Name == VarForm {
			return true
		}
	}
	return false
}

// CompileAs type-checks expr, which must give a want, and makes its program.
func CompileAs(expr string, want *cel.Type) (*cel.Ast, cel.Program, error) {
	e, err := env()
	if err != nil {
		return nil, nil, err
	}
	if len(expr) > maxExprChars {
		return nil, nil, fmt.Errorf("longer than %d bytes", maxExprChars)
	}
	ast, iss := e.Compile(expr)
	if iss != nil && iss.Err() != nil {
		var msgs []string
		for _, e := range iss.Errors() {
			msgs = append(msgs, fmt.Sprintf("%s (column %d)", oneLine(e.Message), e.Location.Column()+1))
		}
		return nil, nil, fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	if ast.OutputType() != want {
		return nil, nil, fmt.Errorf("must be %s, not %s", wantName(want), ast.OutputType())
	}
	prg, err := e.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, nil, err
	}
	return ast, prg, nil
}

// Check reports why expr cannot be a rule's condition, nil when it can.
func Check(expr string) error {
	_, _, err := Compile(expr)
	return err
}

// CheckKey reports why expr cannot be a limit's key (a string), nil when
// it can.
func CheckKey(expr string) error {
	_, _, err := CompileAs(expr, cel.StringType)
	return err
}

// oneLine folds a compiler message (which draws a caret under the
// expression on further lines) into one line.
func oneLine(s string) string {
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\n' || c == '\t' || c == ' ' {
			space = true
			continue
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		b = append(b, c)
	}
	return string(b)
}

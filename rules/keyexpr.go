package rules

import (
	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"

	"github.com/bulwark-router/bulwark/rules/celenv"
)

// KeyExpr is a limit key given as an expression (limits.POLICY.key:
// expr:EXPR): a string over the rules' names, compiled once. Safe for
// concurrent use.
type KeyExpr struct {
	prg  cel.Program
	body bool
}

// CompileKey compiles expr, which must give a string.
func CompileKey(expr string) (*KeyExpr, error) {
	ast, prg, err := celenv.CompileAs(expr, cel.StringType)
	if err != nil {
		return nil, err
	}
	return &KeyExpr{prg: prg, body: celenv.ReadsBody(ast)}, nil
}

// ReadsBody reports whether the expression reads request.json or
// request.form (it then needs a route that inspects bodies).
func (k *KeyExpr) ReadsBody() bool { return k.body }

// Value is the key of req; ok is false when the expression fails (a
// missing map key) or gives "", which is limited as a missing value.
func (k *KeyExpr) Value(req *Request) (string, bool) {
	act := activationPool.Get().(*activation)
	act.r = req
	out, _, err := k.prg.Eval(act)
	*act = activation{}
	activationPool.Put(act)
	if err != nil {
		return "", false
	}
	s, ok := out.(types.String)
	if !ok || s == "" {
		return "", false
	}
	return string(s), true
}

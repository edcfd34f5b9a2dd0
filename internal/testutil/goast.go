package testutil

import "go/ast"

// ReceiverName is the name of a method receiver's type, as written in its
// declaration (e.g. "T" for (t *T) or (t T[K])), or "?" for another form.
func ReceiverName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return ReceiverName(x.X)
	case *ast.IndexExpr:
		return ReceiverName(x.X)
	case *ast.IndexListExpr:
		return ReceiverName(x.X)
	case *ast.Ident:
		return x.Name
	}
	return "?"
}

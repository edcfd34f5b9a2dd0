package router

import (
	"github.com/bulwark-router/bulwark/internal/testutil"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// tourStep matches a function the tour in doc.go names: a file from the
// repository root, then a function or a method as "(*T).Name" or "T.Name".
var tourStep = regexp.MustCompile(`([a-z][\w/]*\.go)\s+(\(\*?\w+\)\.\w+|\w+)`)

// TestTour checks that every function the newcomer's tour in doc.go names
// is declared in the file it names, so the tour stays true as code moves.
func TestTour(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	steps := tourStep.FindAllStringSubmatch(strings.ReplaceAll(string(doc), "\n//", ""), -1)
	if len(steps) < 15 {
		t.Fatalf("the tour names %d functions, want at least 15", len(steps))
	}
	for _, s := range steps {
		file, fn := s[1], s[2]
		if !declares(t, filepath.Join("..", file), fn) {
			t.Errorf("doc.go's tour names %s in %s, which does not declare it", fn, file)
		}
	}
}

// declares reports whether the Go file at path declares fn: "Name",
// "(*T).Name" or "(T).Name".
func declares(t *testing.T, path, fn string) bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return false
	}
	recv, name := "", fn
	if i := strings.LastIndex(fn, "."); i >= 0 {
		recv, name = strings.Trim(fn[:i], "()*"), fn[i+1:]
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != name {
			continue
		}
		if recv == "" && fd.Recv == nil || recv != "" && fd.Recv != nil && testutil.ReceiverName(fd.Recv.List[0].Type) == recv {
			return true
		}
	}
	return false
}

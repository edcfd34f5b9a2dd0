package house

import (
	"bytes"
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// longMarker, as a line of a function's doc comment followed by the reason,
// lets the function be longer than MaxFuncLines.
const longMarker = "//house:long "

// known are violations being worked on, as "path" (a file too long) or
// "path:Func" (a function too long). It must end empty.
var known = []string{}

// TestHouseRules walks the module's Go files (not testdata or vendored
// ones) and reports each file or function over its limit and each file
// gofmt would change.
func TestHouseRules(t *testing.T) {
	root := filepath.Join("..", "..")
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || n == "vendor" || strings.HasPrefix(n, ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		for _, v := range check(t, path, filepath.ToSlash(rel)) {
			seen[v.key] = true
			if !slices.Contains(known, v.key) {
				t.Error(v.msg)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range known {
		if !seen[k] {
			t.Errorf("%s is listed as known but is within the rules now: take it off the list", k)
		}
	}
	if len(known) > 0 {
		t.Logf("%d known violations left: %v", len(known), known)
	}
}

type violation struct{ key, msg string }

func check(t *testing.T, path, rel string) []violation {
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []violation
	if formatted, err := format.Source(src); err != nil || !bytes.Equal(formatted, src) {
		out = append(out, violation{rel + ":gofmt", fmt.Sprintf("%s: not gofmt-clean (%v)", rel, err)})
	}
	if strings.HasSuffix(rel, "_test.go") {
		return out
	}
	if n := bytes.Count(src, []byte("\n")); n > MaxFileLines {
		out = append(out, violation{rel, fmt.Sprintf("%s: %d lines, over %d", rel, n, MaxFileLines)})
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		t.Errorf("%s: %v", rel, err)
		return out
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
		if n <= MaxFuncLines || saysWhy(fd.Doc) {
			continue
		}
		name := fd.Name.Name
		if fd.Recv != nil {
			name = testutil.ReceiverName(fd.Recv.List[0].Type) + "." + name
		}
		out = append(out, violation{rel + ":" + name,
			fmt.Sprintf("%s: %s is %d lines, over %d without a %q line saying why", rel, name, n, MaxFuncLines, longMarker+"...")})
	}
	return out
}

// saysWhy reports whether doc holds a longMarker line with a reason.
func saysWhy(doc *ast.CommentGroup) bool {
	if doc == nil {
		return false
	}
	for _, c := range doc.List {
		if why, ok := strings.CutPrefix(c.Text, longMarker); ok && strings.TrimSpace(why) != "" {
			return true
		}
	}
	return false
}

package lint

import (
	"fmt"
	"go/ast"
	"go/types"
	"strings"
)

// stops are the testing methods that end the calling goroutine (runtime.Goexit): from a
// goroutine other than the test's they leave the test running and hide the failure.
var stops = map[string]bool{"Fatal": true, "Fatalf": true, "FailNow": true, "Skip": true, "Skipf": true, "SkipNow": true}

// FatalInGoroutines lists, as "file:line: …" relative to root, every call of t.Fatal,
// t.FailNow, t.Skip and their kin (on a *testing.T, *testing.B or testing.TB) inside a
// function literal that a _test.go file starts with a go statement.
func FatalInGoroutines(pkg *Package, root string) []string {
	var out []string
	for _, f := range pkg.Files {
		if !strings.HasSuffix(pkg.Fset.Position(f.Pos()).Filename, "_test.go") {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			g, ok := n.(*ast.GoStmt)
			if !ok {
				return true
			}
			lit, ok := g.Call.Fun.(*ast.FuncLit)
			if !ok {
				return true
			}
			ast.Inspect(lit.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || !stops[sel.Sel.Name] || !isTesting(pkg.Info.TypeOf(sel.X)) {
					return true
				}
				pos := pkg.Fset.Position(call.Pos())
				out = append(out, fmt.Sprintf("%s:%d: %s from a goroutine the test started: send the error back instead",
					relative(root, pos.Filename), pos.Line, types.ExprString(call.Fun)))
				return true
			})
			return true
		})
	}
	return out
}

// isTesting reports whether t is *testing.T, *testing.B, *testing.F or testing.TB.
func isTesting(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "testing"
}

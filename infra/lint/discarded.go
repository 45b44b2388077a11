package lint

import (
	"fmt"
	"go/ast"
	"go/types"
	"path/filepath"
	"strings"
)

var errorType = types.Universe.Lookup("error").Type()

// isError reports whether a value of type t is an error: the error interface, or a
// concrete type that implements it.
func isError(t types.Type) bool {
	if t == nil {
		return false
	}
	if types.Identical(t, errorType) {
		return true
	}
	if _, iface := t.Underlying().(*types.Interface); iface {
		return false
	}
	return types.Implements(t, errorType.Underlying().(*types.Interface))
}

// DiscardedErrors lists, as "file:line: …" relative to root, every error result a
// _test.go file of pkg assigns to the blank identifier: `x, _ := f()`, `_ = f()`,
// `_, _ = w.Write(b)`, `var _, _ = f()`. A discarded bool or value (`v, _ := m[k]`,
// `a, b, _ := strings.Cut`) is fine; so is `for _, x := range`. A call whose results are
// not assigned at all (`w.Write(b)`, `defer f.Close()`) is not this check's business.
func DiscardedErrors(pkg *Package, root string) []string {
	var out []string
	for _, f := range pkg.Files {
		name := pkg.Fset.Position(f.Pos()).Filename
		if !strings.HasSuffix(name, "_test.go") {
			continue
		}
		report := func(blank *ast.Ident, what string) {
			pos := pkg.Fset.Position(blank.Pos())
			out = append(out, fmt.Sprintf("%s:%d: %s discards an error", relative(root, pos.Filename), pos.Line, what))
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				pkg.blanks(n.Lhs, n.Rhs, report)
			case *ast.ValueSpec:
				lhs := make([]ast.Expr, len(n.Names))
				for i, id := range n.Names {
					lhs[i] = id
				}
				pkg.blanks(lhs, n.Values, report)
			}
			return true
		})
	}
	return out
}

// blanks reports each blank identifier on the left that receives an error.
func (pkg *Package) blanks(lhs, rhs []ast.Expr, report func(*ast.Ident, string)) {
	if len(rhs) == 0 {
		return
	}
	for i, l := range lhs {
		id, ok := l.(*ast.Ident)
		if !ok || id.Name != "_" {
			continue
		}
		var t types.Type
		var from ast.Expr
		if len(rhs) == len(lhs) {
			from = rhs[i]
			t = pkg.Info.TypeOf(from)
		} else if len(rhs) == 1 {
			from = rhs[0]
			if tuple, ok := pkg.Info.TypeOf(from).(*types.Tuple); ok && i < tuple.Len() {
				t = tuple.At(i).Type()
			}
		}
		if isError(t) {
			report(id, describe(from, i, len(lhs)))
		}
	}
}

// describe names the expression whose result is dropped, for the message.
func describe(e ast.Expr, i, n int) string {
	s := types.ExprString(e)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	if n > 1 {
		return fmt.Sprintf("result %d of %s", i+1, s)
	}
	return s
}

// relative is file relative to root, with forward slashes.
func relative(root, file string) string {
	if rel, err := filepath.Rel(root, file); err == nil {
		file = rel
	}
	return filepath.ToSlash(file)
}

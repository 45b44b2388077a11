package main

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tierflow/tierflow/shared/store"
)

// wiringFile is the one file that may hold the table: it builds the access layer and the
// store's staff desk from it, and keeps neither.
const wiringFile = "app.go"

const storePkg = "github.com/tierflow/tierflow/shared/store"
const accessPkg = "github.com/tierflow/tierflow/shared/access"

// notLoads are the table's methods a route may reach through a port of its own: what
// every store shares (the tier policy) and the caller's own rate limits. Every other
// method of store.Table and store.Followup reads or writes something a request names,
// and is reached only through shared/access and store.Staff with a grant.
var notLoads = []string{"CurrentPolicy", "PolicyHistory", "PutPolicy", "Allow", "Exhausted"}

// loadMethods are the exported methods of *store.Table and *store.Followup not in notLoads.
func loadMethods() map[string]bool {
	out := map[string]bool{}
	for _, t := range []reflect.Type{reflect.TypeOf(&store.Table{}), reflect.TypeOf(&store.Followup{})} {
		for i := 0; i < t.NumMethod(); i++ {
			if n := t.Method(i).Name; !slices.Contains(notLoads, n) {
				out[n] = true
			}
		}
	}
	return out
}

// rawStore reports whether t is store.Table or store.Followup (or a pointer to one).
func rawStore(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != storePkg {
		return false
	}
	return n.Obj().Name() == "Table" || n.Obj().Name() == "Followup"
}

func fromAccess(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == accessPkg
}

// typeCheck type-checks the package's files (and any planted ones) against the export
// data of its dependencies, which `go list -export` builds (or finds in the build cache).
func typeCheck(t *testing.T, planted map[string]string) (*token.FileSet, []*ast.File, *types.Info) {
	t.Helper()
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	exports := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if path, file, ok := strings.Cut(sc.Text(), "\t"); ok && file != "" {
			exports[path] = file
		}
	}
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil || len(names) == 0 {
		t.Fatalf("the package's files: %v %v", names, err)
	}
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	for n, src := range planted {
		f, err := parser.ParseFile(fset, n, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) { return os.Open(exports[path]) })
	info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}, Defs: map[*ast.Ident]types.Object{}}
	if _, err := (&types.Config{Importer: imp}).Check("main", fset, files, info); err != nil {
		t.Fatalf("type-check: %v", err)
	}
	return fset, files, info
}

// wiringViolations finds every way the package could load what a request names other
// than through shared/access and store.Staff:
//   - a call or method value of a loading method of store.Table or store.Followup;
//   - a table or follow-up store reached through a field outside the wiring file;
//   - a struct keeping one (the wiring file builds, it does not keep);
//   - a port (interface) with a loading method's name that takes no access grant, which
//     the table could satisfy.
func wiringViolations(fset *token.FileSet, files []*ast.File, info *types.Info, loads map[string]bool) []string {
	var out []string
	bad := func(pos token.Pos, msg string) { out = append(out, fset.Position(pos).String()+": "+msg) }
	for sel, s := range info.Selections {
		file := filepath.Base(fset.Position(sel.Pos()).Filename)
		switch s.Kind() {
		case types.MethodVal, types.MethodExpr:
			if rawStore(s.Recv()) && loads[s.Obj().Name()] {
				bad(sel.Pos(), s.Obj().Name()+" called on the table: resolve through shared/access")
			}
		case types.FieldVal:
			if rawStore(s.Type()) && file != wiringFile {
				bad(sel.Pos(), "reaches the table outside "+wiringFile)
			}
		}
	}
	for id, obj := range info.Defs {
		tn, ok := obj.(*types.TypeName)
		if !ok || id.Obj == nil {
			continue
		}
		switch u := tn.Type().Underlying().(type) {
		case *types.Struct:
			for i := 0; i < u.NumFields(); i++ {
				if rawStore(u.Field(i).Type()) {
					bad(id.Pos(), tn.Name()+" keeps the table; routes get the access layer and store.Staff")
				}
			}
		case *types.Interface:
			for i := 0; i < u.NumExplicitMethods(); i++ {
				m := u.ExplicitMethod(i)
				if !loads[m.Name()] {
					continue
				}
				params, granted := m.Type().(*types.Signature).Params(), false
				for j := 0; j < params.Len(); j++ {
					granted = granted || fromAccess(params.At(j).Type())
				}
				if !granted {
					bad(m.Pos(), tn.Name()+"."+m.Name()+" loads by id without an access grant")
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// A route that forgets to resolve its target cannot exist: no handler reaches the table,
// so what a request names is loaded through shared/access or not at all.
func TestRoutesReachCustomerDataOnlyThroughTheAccessLayer(t *testing.T) {
	loads := loadMethods()
	for _, must := range []string{"GetProfile", "GetProfileView", "AuditLog", "GetRun", "Get", "ListTasks", "QueryPartition", "CustomerByContact", "TxnMarkers"} {
		if !loads[must] {
			t.Fatalf("%s is not counted as a load; the check would not see it", must)
		}
	}
	fset, files, info := typeCheck(t, nil)
	if len(files) < 8 {
		t.Fatalf("only %d files type-checked", len(files))
	}
	for _, v := range wiringViolations(fset, files, info, loads) {
		t.Error(v)
	}
}

// The check catches the ways a route could forget, and lets a port that takes a grant be.
func TestTheWiringCheckCatchesARouteThatLoadsDirectly(t *testing.T) {
	planted := map[string]string{"planted.go": `package main

import (
	"context"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/store"
)

type keeps struct{ t *store.Table }

func (k keeps) direct(ctx context.Context) { _, _ = k.t.GetProfileView(ctx, "x") }

type loader interface {
	GetProfileView(ctx context.Context, id string) (customer.View, error)
}

type granted interface {
	AuditLog(ctx context.Context, c access.Customer, n int32, cursor string) ([]customer.AuditEntry, string, error)
}

var methodValue = (*store.Table).AuditLog
`}
	fset, files, info := typeCheck(t, planted)
	got := strings.Join(wiringViolations(fset, files, info, loadMethods()), "\n")
	for _, want := range []string{"planted.go:11", "planted.go:13", "planted.go:16", "planted.go:23", "reaches the table outside"} {
		if !strings.Contains(got, want) {
			t.Errorf("not caught: %s\n%s", want, got)
		}
	}
	if strings.Contains(got, "granted.AuditLog") {
		t.Errorf("a port that takes a grant was flagged:\n%s", got)
	}
}

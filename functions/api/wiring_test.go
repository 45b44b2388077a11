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
	"slices"
	"sort"
	"strings"
	"testing"
)

// wiringFile is the one file that may hold the table and the store's adapters: it builds
// the access layer, the follow-up services and the store's staff desk from them, and
// keeps none of them.
const wiringFile = "app.go"

const storePkg = "github.com/tierflow/tierflow/shared/store"
const accessPkg = "github.com/tierflow/tierflow/shared/access"

// notLoads are the table's methods a route may reach through a port of its own: what
// every store shares (the tier policy) and the caller's own rate limits. Every other
// method of the table and of the store's adapters over it reads or writes something a
// request names, and is reached only through shared/access and store.Staff with a grant.
var notLoads = []string{"CurrentPolicy", "PolicyHistory", "PolicyAt", "PolicyVersions", "PutPolicy", "Allow", "Exhausted",
	// API keys are not customer data: admins manage those of their stores, decided by
	// access.MayManageKey on the key read.
	"APIKeys", "APIKey", "CreateAPIKey", "RotateAPIKey", "RevokeAPIKey"}

// adapters are the store's types that hold the table: the table itself and every adapter
// over it (Reminders, Contacts, Consents …), found in the store package as it is, so an
// adapter added later is covered too. store.Staff holds it as well, but is the way in:
// every method takes a grant.
func adapters(store *types.Package) map[*types.TypeName]bool {
	table := store.Scope().Lookup("Table").(*types.TypeName)
	out := map[*types.TypeName]bool{table: true}
	for _, name := range store.Scope().Names() {
		tn, ok := store.Scope().Lookup(name).(*types.TypeName)
		if !ok || name == "Staff" {
			continue
		}
		if st, ok := tn.Type().Underlying().(*types.Struct); ok {
			for i := 0; i < st.NumFields(); i++ {
				if types.Identical(st.Field(i).Type(), types.NewPointer(table.Type())) {
					out[tn] = true
				}
			}
		}
	}
	return out
}

// loadMethods are the exported methods of the adapters not in notLoads.
func loadMethods(adapters map[*types.TypeName]bool) map[string]bool {
	out := map[string]bool{}
	for tn := range adapters {
		ms := types.NewMethodSet(types.NewPointer(tn.Type()))
		for i := 0; i < ms.Len(); i++ {
			if n := ms.At(i).Obj().Name(); ast.IsExported(n) && !slices.Contains(notLoads, n) {
				out[n] = true
			}
		}
	}
	return out
}

// rawStore reports whether t is one of the adapters, a pointer to one, or a struct that
// keeps one in a field, however deep (boot.Followup keeps several).
func rawStore(t types.Type, adapters map[*types.TypeName]bool) bool {
	return keeps(t, adapters, map[types.Type]bool{})
}

func keeps(t types.Type, adapters map[*types.TypeName]bool, seen map[types.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := t.(*types.Named); ok {
		if adapters[n.Obj()] {
			return true
		}
		if n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == storePkg && n.Obj().Name() == "Staff" {
			return false // the way in: every method takes a grant
		}
	}
	if st, ok := t.Underlying().(*types.Struct); ok {
		for i := 0; i < st.NumFields(); i++ {
			if keeps(st.Field(i).Type(), adapters, seen) {
				return true
			}
		}
	}
	return false
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
func typeCheck(t *testing.T, planted map[string]string) (*token.FileSet, []*ast.File, *types.Info, *types.Package) {
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
	store, err := imp.Import(storePkg)
	if err != nil {
		t.Fatalf("import %s: %v", storePkg, err)
	}
	return fset, files, info, store
}

// wiringViolations finds every way the package could load what a request names other
// than through shared/access and store.Staff:
//   - a call or method value of a loading method of the table or an adapter over it;
//   - the table or an adapter reached through a field outside the wiring file;
//   - a struct keeping one (the wiring file builds, it does not keep);
//   - a port (interface) with a loading method's name that takes no access grant, which
//     the table or an adapter could satisfy.
func wiringViolations(fset *token.FileSet, files []*ast.File, info *types.Info, adapters map[*types.TypeName]bool) []string {
	loads := loadMethods(adapters)
	var out []string
	bad := func(pos token.Pos, msg string) { out = append(out, fset.Position(pos).String()+": "+msg) }
	for sel, s := range info.Selections {
		file := filepath.Base(fset.Position(sel.Pos()).Filename)
		switch s.Kind() {
		case types.MethodVal, types.MethodExpr:
			if rawStore(s.Recv(), adapters) && loads[s.Obj().Name()] {
				bad(sel.Pos(), s.Obj().Name()+" called on the store: resolve through shared/access")
			}
		case types.FieldVal:
			if rawStore(s.Type(), adapters) && file != wiringFile {
				bad(sel.Pos(), "reaches the store outside "+wiringFile)
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
				if rawStore(u.Field(i).Type(), adapters) {
					bad(id.Pos(), tn.Name()+" keeps the store; routes get the access layer and store.Staff")
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
	fset, files, info, store := typeCheck(t, nil)
	if len(files) < 8 {
		t.Fatalf("only %d files type-checked", len(files))
	}
	found := adapters(store)
	for _, must := range []string{"Table", "Reminders", "Contacts", "Consents", "Feedback", "StaffDirectory", "Counters", "Alerts"} {
		if !found[store.Scope().Lookup(must).(*types.TypeName)] {
			t.Fatalf("store.%s is not counted as an adapter; the check would not see it", must)
		}
	}
	if found[store.Scope().Lookup("Staff").(*types.TypeName)] {
		t.Fatal("store.Staff is counted as an adapter: the way in would be refused")
	}
	loads := loadMethods(found)
	for _, must := range []string{"GetProfile", "GetProfileView", "AuditLog", "GetRun", "Get", "ListTasks", "ByID", "CustomerByContact", "TxnMarkers", "ContactView", "CustomerByToken", "Request"} {
		if !loads[must] {
			t.Fatalf("%s is not counted as a load; the check would not see it", must)
		}
	}
	for _, v := range wiringViolations(fset, files, info, found) {
		t.Error(v)
	}
}

// The check catches the ways a route could forget, and lets a port that takes a grant be.
func TestTheWiringCheckCatchesARouteThatLoadsDirectly(t *testing.T) {
	planted := map[string]string{"planted.go": `package main

import (
	"context"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/boot"
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

type keepsAdapters struct {
	f boot.Followup
	d store.StaffDeps
}

func (k keepsAdapters) task(ctx context.Context) { _, _ = k.f.Reminders.Get(ctx, "x") }

func contact(ctx context.Context) { _, _ = store.NewContacts(nil).ContactView(ctx, "x") }
`}
	fset, files, info, store := typeCheck(t, planted)
	got := strings.Join(wiringViolations(fset, files, info, adapters(store)), "\n")
	for _, want := range []string{"planted.go:12", "planted.go:14", "planted.go:17", "planted.go:24",
		"planted.go:26", "planted.go:31:59: Get called", "planted.go:33:44: ContactView called", "reaches the store outside"} {
		if !strings.Contains(got, want) {
			t.Errorf("not caught: %s\n%s", want, got)
		}
	}
	if n := strings.Count(got, "keepsAdapters keeps the store"); n != 2 {
		t.Errorf("a struct keeping boot.Followup and store.StaffDeps: %d findings, want one per field\n%s", n, got)
	}
	if strings.Contains(got, "granted.AuditLog") {
		t.Errorf("a port that takes a grant was flagged:\n%s", got)
	}
}

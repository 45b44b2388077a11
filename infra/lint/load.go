package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module is the import path of this repository's module.
const Module = "github.com/tierflow/tierflow"

// Package is one type-checked package: a plain package, or the test variant of one
// ("p [p.test]", its files and its _test.go files) or its external test ("p_test [p.test]").
type Package struct {
	ID      string // go list's ImportPath, e.g. "github.com/x/p [github.com/x/p.test]"
	ForTest string // the package under test, for a test variant
	Dir     string
	Fset    *token.FileSet
	Files   []*ast.File
	Types   *types.Package
	Info    *types.Info
}

// listed is what Load reads of `go list -json`.
type listed struct {
	ImportPath string
	ForTest    string
	Dir        string
	GoFiles    []string
	Export     string
	ImportMap  map[string]string
	Module     *struct{ Main bool }
	Error      *struct{ Err string }
}

// goList runs `go list -e -json=… args…` in dir and decodes its packages, in the order
// it prints them (with -deps: every package after what it imports).
func goList(dir string, args ...string) ([]listed, error) {
	args = append([]string{"list", "-e", "-json=ImportPath,ForTest,Dir,GoFiles,Export,ImportMap,Module,Error"}, args...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	var all []listed
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return all, nil
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("%s: %s", p.ImportPath, p.Error.Err)
		}
		all = append(all, p)
	}
}

// Load type-checks the packages of the main module that match patterns, run from dir;
// with tests, their test variants instead of those that have test files (the generated
// test mains are left out).
//
// What the packages import comes from export data, which `go list -export` finds in the
// build cache (go vet and go build leave it there) or compiles once; test variants, and
// the packages recompiled for one, are type-checked from source, in dependency order, so
// no test binary is compiled for the check.
func Load(dir string, tests bool, patterns ...string) ([]*Package, error) {
	all, err := goList(dir, append([]string{"-export", "-deps"}, patterns...)...)
	if err != nil {
		return nil, err
	}
	if tests {
		if all, err = goList(dir, append([]string{"-deps", "-test"}, patterns...)...); err != nil {
			return nil, err
		}
		// The export data of every plain package, those only tests import included.
		var plain []string
		for _, p := range all {
			if !strings.Contains(p.ImportPath, " ") && !strings.HasSuffix(p.ImportPath, ".test") {
				plain = append(plain, p.ImportPath)
			}
		}
		exported, err := goList(dir, append([]string{"-export"}, plain...)...)
		if err != nil {
			return nil, err
		}
		byPath := map[string]string{}
		for _, p := range exported {
			byPath[p.ImportPath] = p.Export
		}
		for i := range all {
			if e, ok := byPath[all[i].ImportPath]; ok {
				all[i].Export = e
			}
		}
	}
	exports := map[string]string{}
	for _, p := range all {
		if p.Export != "" {
			exports[p.ImportPath] = p.Export
		}
	}
	named, err := goList(dir, patterns...)
	if err != nil {
		return nil, err
	}
	roots := map[string]bool{}
	for _, p := range named {
		roots[p.ImportPath] = true
	}
	hasTestVariant := map[string]bool{}
	for _, p := range all {
		if p.ForTest != "" {
			hasTestVariant[p.ForTest] = true
		}
	}
	fset := token.NewFileSet()
	gc := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file := exports[path]
		if file == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
	checked := map[string]*types.Package{} // by go list's ImportPath, variants included
	var pkgs []*Package
	for _, p := range all {
		base, _, variant := strings.Cut(p.ImportPath, " ")
		if p.Module == nil || !p.Module.Main || strings.HasSuffix(base, ".test") {
			continue
		}
		root := (variant && roots[p.ForTest]) || (!variant && roots[base] && !hasTestVariant[base])
		if !root && !variant {
			continue // its export data serves whoever imports it
		}
		pkg, err := check(fset, p, func(path string) (*types.Package, error) {
			if id, ok := p.ImportMap[path]; ok {
				path = id
			}
			if t, ok := checked[path]; ok {
				return t, nil
			}
			return gc.Import(path)
		})
		if err != nil {
			return nil, err
		}
		checked[p.ImportPath] = pkg.Types
		if root {
			pkgs = append(pkgs, pkg)
		}
	}
	return pkgs, nil
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// check parses and type-checks one listed package.
func check(fset *token.FileSet, p listed, imp importerFunc) (*Package, error) {
	var files []*ast.File
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	info := &types.Info{
		Types: map[ast.Expr]types.TypeAndValue{},
		Defs:  map[*ast.Ident]types.Object{},
		Uses:  map[*ast.Ident]types.Object{},
	}
	path, _, _ := strings.Cut(p.ImportPath, " ")
	tpkg, err := (&types.Config{Importer: imp}).Check(path, fset, files, info)
	if err != nil {
		return nil, fmt.Errorf("type-check %s: %w", p.ImportPath, err)
	}
	return &Package{ID: p.ImportPath, ForTest: p.ForTest, Dir: p.Dir, Fset: fset, Files: files, Types: tpkg, Info: info}, nil
}

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

// Load type-checks the packages of the main module that match patterns, run from dir; with
// tests, their test variants instead of those that have test files (the generated test
// mains are left out).
func Load(dir string, tests bool, patterns ...string) ([]*Package, error) {
	args := []string{"list", "-e", "-export", "-deps", "-json=ImportPath,ForTest,Dir,GoFiles,Export,ImportMap,Module,Error"}
	if tests {
		args = append(args, "-test")
	}
	cmd := exec.Command("go", append(args, patterns...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	// Which packages the patterns name (without -deps).
	roots := map[string]bool{}
	cmd = exec.Command("go", append([]string{"list", "-e"}, patterns...)...)
	cmd.Dir = dir
	named, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", strings.Join(patterns, " "), err)
	}
	for _, p := range strings.Fields(string(named)) {
		roots[p] = true
	}
	exports := map[string]string{}
	var all []listed
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("%s: %s", p.ImportPath, p.Error.Err)
		}
		exports[p.ImportPath] = p.Export
		all = append(all, p)
	}
	hasTestVariant := map[string]bool{}
	for _, p := range all {
		if p.ForTest != "" {
			hasTestVariant[p.ForTest] = true
		}
	}
	var pkgs []*Package
	for _, p := range all {
		base, _, variant := strings.Cut(p.ImportPath, " ")
		switch {
		case p.Module == nil || !p.Module.Main || strings.HasSuffix(base, ".test"):
			continue
		case variant && !roots[p.ForTest]:
			continue
		case !variant && (!roots[base] || hasTestVariant[base]):
			continue
		}
		pkg, err := check(p, exports)
		if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, pkg)
	}
	return pkgs, nil
}

// check parses and type-checks one listed package against its dependencies' export data.
func check(p listed, exports map[string]string) (*Package, error) {
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	lookup := func(path string) (io.ReadCloser, error) {
		if id, ok := p.ImportMap[path]; ok {
			path = id
		}
		file, ok := exports[path]
		if !ok || file == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	}
	info := &types.Info{
		Types: map[ast.Expr]types.TypeAndValue{},
		Defs:  map[*ast.Ident]types.Object{},
		Uses:  map[*ast.Ident]types.Object{},
	}
	path, _, _ := strings.Cut(p.ImportPath, " ")
	tpkg, err := (&types.Config{Importer: importer.ForCompiler(fset, "gc", lookup)}).Check(path, fset, files, info)
	if err != nil {
		return nil, fmt.Errorf("type-check %s: %w", p.ImportPath, err)
	}
	return &Package{ID: p.ImportPath, ForTest: p.ForTest, Dir: p.Dir, Fset: fset, Files: files, Types: tpkg, Info: info}, nil
}

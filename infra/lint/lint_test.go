package lint_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tierflow/tierflow/infra/lint"
)

// root is the module's folder (this package lives at infra/lint).
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", dir, err)
	}
	return dir
}

var (
	testsOnce sync.Once
	testPkgs  []*lint.Package
	testsErr  error
)

// testPackages are the test packages of shared/, functions/ and infra/, type-checked once.
func testPackages(t *testing.T) []*lint.Package {
	t.Helper()
	dir := root(t)
	testsOnce.Do(func() {
		testPkgs, testsErr = lint.Load(dir, true, "./shared/...", "./functions/...", "./infra/...")
	})
	if testsErr != nil {
		t.Fatal(testsErr)
	}
	tests := 0
	for _, p := range testPkgs {
		if p.ForTest != "" {
			tests++
		}
	}
	if tests < 40 {
		t.Fatalf("only %d test packages type-checked: the patterns are wrong", tests)
	}
	return testPkgs
}

// No test swallows an error: a step that fails must fail the test, not feed it a zero
// value that makes a later assertion pass or fail for the wrong reason.
func TestNoTestDiscardsAnError(t *testing.T) {
	for _, p := range testPackages(t) {
		for _, f := range lint.DiscardedErrors(p, root(t)) {
			t.Error(f)
		}
	}
}

// No goroutine a test starts calls t.Fatal or t.FailNow: it would end that goroutine, not
// the test, which goes on as if nothing failed.
func TestNoTestFatalsFromAnotherGoroutine(t *testing.T) {
	for _, p := range testPackages(t) {
		for _, f := range lint.FatalInGoroutines(p, root(t)) {
			t.Error(f)
		}
	}
}

// The checks see every way a test can drop an error or stop another goroutine, and let
// dropped values and t.Error be.
func TestTheChecksCatchEachForm(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module "+lint.Module+"/planted\n\ngo 1.22\n")
	write("p.go", `package p

import "errors"

type myErr struct{}

func (myErr) Error() string { return "mine" }

func Two() (int, error)   { return 0, errors.New("x") }
func Mine() (int, myErr)  { return 0, myErr{} }
func Cut() (string, bool) { return "", false }
`)
	write("p_test.go", `package p

import (
	"crypto/rand"
	"testing"
)

func TestPlanted(t *testing.T) {
	n, _ := Two()
	_, _ = rand.Read(make([]byte, 4))
	_ = error(nil)
	var _, _ = Two()
	_, _ = Mine()
	m := map[string]int{}
	v, _ := m["a"]
	s, _ := Cut()
	var x any = n
	y, _ := x.(int)
	for _, c := range "ab" {
		_ = c
	}
	_, _, _ = v, s, y
}
`)
	write("p_x_test.go", `package p_test

import (
	"testing"

	p "`+lint.Module+`/planted"
)

func TestOutside(t *testing.T) {
	if _, err := p.Two(); err == nil {
		t.Fatal("no error")
	}
	go func() { _, _ = p.Two() }()
	go func() {
		if _, err := p.Two(); err != nil {
			t.Fatal(err)
		}
		t.Error("allowed")
	}()
	var tb testing.TB = t
	go func() { tb.FailNow() }()
	t.Fatal("the test's own goroutine")
}
`)
	pkgs, err := lint.Load(dir, true, "./...")
	if err != nil {
		t.Fatal(err)
	}
	var got, fatal []string
	for _, p := range pkgs {
		got = append(got, lint.DiscardedErrors(p, dir)...)
		fatal = append(fatal, lint.FatalInGoroutines(p, dir)...)
	}
	if want := []string{
		"p_x_test.go:16: t.Fatal from a goroutine the test started: send the error back instead",
		"p_x_test.go:21: tb.FailNow from a goroutine the test started: send the error back instead",
	}; strings.Join(fatal, "\n") != strings.Join(want, "\n") {
		t.Errorf("goroutine findings:\n%s\nwant\n%s", strings.Join(fatal, "\n"), strings.Join(want, "\n"))
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{
		"p_test.go:9: result 2 of Two() discards an error",
		"p_test.go:10: result 2 of rand.Read(make([]byte, 4)) discards an error",
		"p_test.go:11: error(nil) discards an error",
		"p_test.go:12: result 2 of Two() discards an error",
		"p_test.go:13: result 2 of Mine() discards an error",
		"p_x_test.go:13: result 2 of p.Two() discards an error",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("not caught: %s", want)
		}
	}
	if len(got) != 6 {
		t.Errorf("%d findings, want 6 (a dropped bool, value or range key was flagged?):\n%s", len(got), joined)
	}
}

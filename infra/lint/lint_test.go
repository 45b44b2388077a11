package lint_test

import (
	"os"
	"path/filepath"
	"strings"
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

// No test swallows an error: a step that fails must fail the test, not feed it a zero
// value that makes a later assertion pass or fail for the wrong reason.
func TestNoTestDiscardsAnError(t *testing.T) {
	dir := root(t)
	pkgs, err := lint.Load(dir, true, "./shared/...", "./functions/...", "./infra/...")
	if err != nil {
		t.Fatal(err)
	}
	tests := 0
	for _, p := range pkgs {
		if p.ForTest != "" {
			tests++
		}
		for _, f := range lint.DiscardedErrors(p, dir) {
			t.Error(f)
		}
	}
	if tests < 40 {
		t.Fatalf("only %d test packages type-checked: the patterns are wrong", tests)
	}
}

// The check sees every way a test can drop an error, and lets dropped values be.
func TestTheDiscardCheckCatchesEachForm(t *testing.T) {
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
}
`)
	pkgs, err := lint.Load(dir, true, "./...")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pkgs {
		got = append(got, lint.DiscardedErrors(p, dir)...)
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

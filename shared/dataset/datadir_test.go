package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder stands in for a test: it records how Require ended it (skip or failure).
type recorder struct {
	testing.TB
	ended string // "", "skip: ..." or "fatal: ..."
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.ended = "fatal: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) { r.ended = "fatal: " + fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Skipf(format string, args ...any) {
	r.ended = "skip: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func require(t *testing.T, rel string) (path string, r *recorder) {
	r = &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		path = Require(r, rel)
	}()
	<-done
	return path, r
}

func TestRequire(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "here.csv"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvDataDir, dir)

	t.Run("a present file is returned", func(t *testing.T) {
		p, r := require(t, "here.csv")
		if r.ended != "" || p != filepath.Join(dir, "here.csv") {
			t.Fatalf("path %q, ended %q", p, r.ended)
		}
	})
	t.Run("a missing file skips and is noted in the report for the terminal", func(t *testing.T) {
		report := filepath.Join(t.TempDir(), "report.txt")
		t.Setenv(EnvReport, report)
		t.Setenv(EnvRequire, "")
		_, r := require(t, "absent/one.csv")
		if !strings.HasPrefix(r.ended, "skip: ") {
			t.Fatalf("ended %q, want a skip", r.ended)
		}
		raw, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(dir, "absent/one.csv") + "\t" + t.Name() + "\n"
		if string(raw) != want {
			t.Fatalf("report %q, want %q", raw, want)
		}
	})
	t.Run("a missing file fails the test when the data sets are required", func(t *testing.T) {
		t.Setenv(EnvRequire, "1")
		t.Setenv(EnvReport, "")
		_, r := require(t, "absent/one.csv")
		if !strings.HasPrefix(r.ended, "fatal: ") || !strings.Contains(r.ended, EnvRequire) {
			t.Fatalf("ended %q, want a failure naming %s", r.ended, EnvRequire)
		}
	})
}

package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// EnvDataDir overrides where the public data sets are read from.
const EnvDataDir = "TIERFLOW_DATA_DIR"

// EnvRequire, set to 1 (CI sets it: CI has the data sets), turns a missing data set
// into a test failure instead of a skip.
const EnvRequire = "TIERFLOW_REQUIRE_DATA"

// EnvReport names a file Require appends one line to (path, tab, test name) for every
// data set it finds missing. `tierflow-local test`, which `make test` runs `go test`
// under, sets it and sums the lines up in one line on the terminal: go test shows
// nothing of a passing package, so a skip message alone is never seen.
const EnvReport = "TIERFLOW_DATA_REPORT"

// ErrMissing is returned when a public data set is not on this machine.
var ErrMissing = errors.New("data set not found")

// Dir returns the folder holding the public data sets: $TIERFLOW_DATA_DIR, or
// ../shared/data relative to the module root (found by walking up to go.mod).
func Dir() string {
	if d := os.Getenv(EnvDataDir); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Join("..", "shared", "data")
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "data")
		}
		if filepath.Dir(dir) == dir {
			return filepath.Join(wd, "..", "shared", "data")
		}
	}
}

// Path returns the path of a file inside the data folder, or an error wrapping
// ErrMissing when it is not there.
func Path(rel string) (string, error) {
	p := filepath.Join(Dir(), rel)
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s (set %s): %w", p, EnvDataDir, ErrMissing)
		}
		return "", fmt.Errorf("stat %s: %w", p, err)
	}
	return p, nil
}

var loudOnce sync.Map

// Require returns the path of a public data file for a test or benchmark. When the file
// is absent it fails the test if $TIERFLOW_REQUIRE_DATA is 1; otherwise it notes the
// file in $TIERFLOW_DATA_REPORT, prints one loud line (once per file per process) and
// skips: the synthetic data set covers the same code paths elsewhere in the suite.
func Require(tb testing.TB, rel string) string {
	tb.Helper()
	p, err := Path(rel)
	if err == nil {
		return p
	}
	if os.Getenv(EnvRequire) == "1" {
		tb.Fatalf("data set missing and %s=1: %v", EnvRequire, err)
	}
	if !errors.Is(err, ErrMissing) {
		tb.Fatal(err)
	}
	if report := os.Getenv(EnvReport); report != "" {
		if werr := appendLine(report, filepath.Join(Dir(), rel)+"\t"+tb.Name()); werr != nil {
			tb.Fatalf("data set missing (%v), and the report for the terminal cannot be written: %v", err, werr)
		}
	}
	if _, seen := loudOnce.LoadOrStore(rel, true); !seen {
		fmt.Fprintf(os.Stderr, "!!! DATASET MISSING: %v — real-data checks skipped, synthetic data still runs\n", err)
	}
	tb.Skipf("data set missing: %v", err)
	return ""
}

// appendLine appends one line in one write: test binaries running in parallel share the file.
func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte(line + "\n")); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

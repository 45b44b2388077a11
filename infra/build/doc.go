// Package build holds what issue #13 asks of each function's arm64 bootstrap: which
// packages it may link (checked in make test from `go list -deps`, in a second), that it
// reaches no method lookup by a run-time name (make test links each function with the
// linker's -dumpdep, ~20 s) and how many bytes it may weigh (checked by `make build`,
// which builds them anyway). The
// budgets and rules are one table here so the test, the Makefile and docs/scale.md agree.
package build

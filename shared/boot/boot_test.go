package boot

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		errs     []error
		wantExit bool
		wantLog  string
	}{
		{"no errors starts the function", []error{nil, nil}, false, ""},
		{"a missing variable stops it with the variable named", []error{nil, errors.New("TABLE_NAME is not set")}, true, "TABLE_NAME is not set"},
		{"every problem is reported at once", []error{errors.New("A is not set"), errors.New("route x")}, true, "route x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			code := -1
			exit = func(c int) { code = c }
			defer func() { exit = nil }()
			Check(slog.New(slog.NewJSONHandler(&buf, nil)), "configuration", tt.errs...)
			if (code == 1) != tt.wantExit {
				t.Fatalf("exit code %d, want exit=%v", code, tt.wantExit)
			}
			if !strings.Contains(buf.String(), tt.wantLog) {
				t.Fatalf("log %q does not name %q", buf.String(), tt.wantLog)
			}
		})
	}
}

// Package lambdarttest builds the runtime's test function (infra/local/testdata/testfn)
// the way functions are built for Lambda, once per test binary.
package lambdarttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	once     sync.Once
	dir      string
	path     string
	buildErr error
	out      []byte
)

// Bootstrap returns the path of a freshly built testfn bootstrap. The build is the one
// make build uses (-tags lambda.norpc), for the host's platform.
func Bootstrap(tb testing.TB) string {
	tb.Helper()
	once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		src := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "testfn")
		dir, buildErr = os.MkdirTemp("", "tierflow-testfn-")
		if buildErr != nil {
			return
		}
		path = filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", path, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		tb.Fatalf("build testfn: %v\n%s", buildErr, out)
	}
	return path
}

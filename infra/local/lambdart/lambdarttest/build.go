// Package lambdarttest builds the runtime's test function (infra/local/testdata/testfn)
// the way functions are built for Lambda, once per test binary.
package lambdarttest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	once     sync.Once
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
		// One fixed place, so test runs do not pile up binaries in /tmp; each test binary
		// builds to a private name and renames, so parallel packages never clash.
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "tierflow", "testfn")
		if buildErr = os.MkdirAll(dir, 0o755); buildErr != nil {
			return
		}
		path = filepath.Join(dir, "bootstrap")
		tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", tmp, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, buildErr = cmd.CombinedOutput(); buildErr != nil {
			return
		}
		buildErr = os.Rename(tmp, path)
	})
	if buildErr != nil {
		tb.Fatalf("build testfn: %v\n%s", buildErr, out)
	}
	return path
}

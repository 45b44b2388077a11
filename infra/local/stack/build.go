package stack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/tierflow/tierflow/infra/local/samtemplate"
)

// BootstrapPath is where a function's host-platform bootstrap is expected.
func BootstrapPath(binDir, logicalID string) string {
	return filepath.Join(binDir, logicalID, "bootstrap")
}

// Build compiles every function's bootstrap for this machine, the way the deploy build
// does (-tags lambda.norpc, CGO off), into binDir/<LogicalId>/bootstrap. Test harnesses
// use it so that `go test` alone is enough; `make run` builds through the Makefile.
func Build(ctx context.Context, root, binDir string, fns []samtemplate.Function) error {
	var wg sync.WaitGroup
	errs := make([]error, len(fns))
	for i, f := range fns {
		wg.Go(func() {
			out := BootstrapPath(binDir, f.LogicalID)
			cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, "./"+f.Dir)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("build %s (%s): %w\n%s", f.LogicalID, f.Dir, err, b)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

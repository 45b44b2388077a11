package samtemplate

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tierflow/tierflow/shared/secrets"
)

// provided are the variables the code reads that the Lambda service or the local runtime
// sets, never the template.
var provided = map[string]string{
	"AWS_LAMBDA_FUNCTION_NAME": "Lambda",
	"SMS_OUTBOX_PATH":          "the local runtime (SMS_PROVIDER=outbox)",
	"TIERFLOW_LOCAL_KEY":       "the local runtime (stands in for KMS)",
	"TIERFLOW_DATA_DIR":        "benchmarks and validation tests",
	secrets.LocalRuntimeEnv:    "the local runtime",
}

// envRead is one environment variable the code of a function or a shared package reads.
type envRead struct {
	Var  string
	File string // relative to the project root
}

// envReadPattern finds reads through shared/env's reader and the os package.
var envReadPattern = regexp.MustCompile(`(?:\.(?:Required|Optional|Int|List|Location)|os\.Getenv|os\.LookupEnv)\("([A-Z][A-Z0-9_]+)"`)

// codeEnvReads lists every environment variable read under functions/ and shared/
// (tests aside). It fails when it finds none: the pattern would be broken.
func codeEnvReads(t *testing.T, root string) []envRead {
	t.Helper()
	var out []envRead
	for _, top := range []string{"functions", "shared"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			for _, m := range envReadPattern.FindAllStringSubmatch(string(src), -1) {
				out = append(out, envRead{Var: m[1], File: rel})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) == 0 {
		t.Fatal("found no environment reads: the pattern is broken")
	}
	return out
}

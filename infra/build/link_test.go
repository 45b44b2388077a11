package build_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tierflow/tierflow/infra/build"
)

// deps lists what functions/<dir> links when built as make build builds it.
func deps(t *testing.T, root, dir string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "./functions/"+dir)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./functions/%s: %v", dir, err)
	}
	return strings.Fields(string(out))
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "template.yaml")); err != nil {
		t.Fatalf("repository root: %v", err)
	}
	return root
}

// Each function links the heavy packages it uses and none of the others: no test code,
// the phone-number library only where typed numbers are read, KMS only where the
// sensitive section is opened, the SES and SMS clients only where messages are sent.
func TestEachFunctionLinksOnlyWhatItUses(t *testing.T) {
	root := repoRoot(t)
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := build.Lookup(e.Name()); e.IsDir() && !ok {
			t.Errorf("functions/%s has no entry in build.Functions", e.Name())
		}
	}
	for _, f := range build.Functions {
		t.Run(f.Dir, func(t *testing.T) {
			d := deps(t, root, f.Dir)
			if bad := f.Forbidden(d); len(bad) > 0 {
				t.Errorf("functions/%s links %v, which it does not use", f.Dir, bad)
			}
			for _, want := range f.Links {
				if !slices.Contains(d, want) {
					t.Errorf("functions/%s no longer links %s: drop it from its Links (and check it still works)", f.Dir, want)
				}
			}
		})
	}
}

func TestSizeCheck(t *testing.T) {
	f := build.Function{Dir: "x", Budget: 12 * build.MiB}
	over := build.Function{Dir: "y", Budget: 12 * build.MiB, Ceiling: 13 * build.MiB}
	cases := []struct {
		name string
		f    build.Function
		size int64
		fail bool
		says string
	}{
		{"a bootstrap inside its budget passes", f, 12 * build.MiB, false, "ok"},
		{"one byte above the budget fails", f, 12*build.MiB + 1, true, "OVER LIMIT"},
		{"above the budget but under today's ceiling passes and says so", over, 12*build.MiB + build.MiB/2, false, "over budget by 0.50 MiB"},
		{"above today's ceiling fails", over, 13*build.MiB + 1, true, "OVER LIMIT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			line, err := tc.f.CheckSize(tc.size)
			if (err != nil) != tc.fail || !strings.Contains(line, tc.says) {
				t.Errorf("CheckSize(%d) = %q, %v; want fail=%v and %q", tc.size, line, err, tc.fail, tc.says)
			}
		})
	}
}

// A ceiling only exists while a function is above its budget.
func TestCeilingsAreAboveBudgets(t *testing.T) {
	for _, f := range build.Functions {
		if f.Ceiling != 0 && f.Ceiling <= f.Budget {
			t.Errorf("functions/%s: ceiling %d is inside the budget %d: remove it", f.Dir, f.Ceiling, f.Budget)
		}
	}
}

// No bootstrap reaches a method lookup by a run-time name: the linker would then keep
// every exported method of every type it links (api and public-api weighed 21 MiB instead
// of 16 for it). The failure names the chain of calls that reaches it.
func TestNoFunctionLooksUpMethodsByRunTimeName(t *testing.T) {
	root := repoRoot(t)
	out := t.TempDir()
	for _, f := range build.Functions {
		t.Run(f.Dir, func(t *testing.T) {
			cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w -dumpdep",
				"-o", filepath.Join(out, f.Dir), "./functions/"+f.Dir)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("go build ./functions/%s: %v\n%.2000s", f.Dir, err, stderr.String())
			}
			chain, err := build.ReflectMethodChain(strings.NewReader(stderr.String()))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case chain != nil && f.MethodLookup == "":
				t.Errorf("functions/%s reaches %s, so its bootstrap keeps every exported method of every linked type; reached through:\n  %s\n"+
					"(a step from type:T to a method of T: the method is kept because some package looks a method of that name up, "+
					"or calls one through an interface — protobuf-go before v1.36.12 asks for \"Methods\", which is reflect's own)",
					f.Dir, chain[len(chain)-1], strings.Join(chain, "\n  -> "))
			case chain == nil && f.MethodLookup != "":
				t.Errorf("functions/%s no longer looks methods up by name: drop its MethodLookup", f.Dir)
			}
		})
	}
}

func TestReflectMethodChainNamesThePath(t *testing.T) {
	dump := `_ -> main.main
main.main -> main.page
main.main -> fmt.Println
main.page -> html/template.(*Template).Execute
type:reflect.Value <UsedInIface> -> reflect.Value.String
html/template.(*Template).Execute -> text/template.(*state).evalField <ReflectMethod>
text/template.(*state).evalField <ReflectMethod> -> reflect.Value.MethodByName
`
	chain, err := build.ReflectMethodChain(strings.NewReader(dump))
	want := []string{"main.main", "main.page", "html/template.(*Template).Execute", "text/template.(*state).evalField"}
	if err != nil || !slices.Equal(chain, want) {
		t.Errorf("chain = %q, %v; want %q", chain, err, want)
	}
	chain, err = build.ReflectMethodChain(strings.NewReader("_ -> main.main\nmain.main -> fmt.Println\n"))
	if err != nil || chain != nil {
		t.Errorf("a program without a run-time method lookup: chain = %q, %v", chain, err)
	}
}

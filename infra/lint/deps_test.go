package lint_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tierflow/tierflow/infra/lint"
)

const dynamodbTypes = "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

// functions lists the function folders (functions/<name> holding a main package).
func functions(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dir, "functions", e.Name(), "main.go")); e.IsDir() && err == nil {
			out = append(out, "./functions/"+e.Name())
		}
	}
	if len(out) < 7 {
		t.Fatalf("found %d functions (%v): the layout changed", len(out), out)
	}
	return out
}

type listedDep struct {
	ImportPath string
	Imports    []string
}

// deps is `go list -deps` of one package, each dependency with its imports.
func deps(t *testing.T, dir, pattern string) []listedDep {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports", pattern)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pattern, err)
	}
	var all []listedDep
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var d listedDep
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		all = append(all, d)
	}
	// The package itself comes last, after what it imports (at least the standard library).
	if len(all) < 10 || all[len(all)-1].ImportPath != lint.Module+strings.TrimPrefix(pattern, ".") {
		t.Fatalf("go list -deps %s named %d packages, not ending with the package itself", pattern, len(all))
	}
	return all
}

// A Lambda binary links no test code: `testing` (its flags, its helpers) comes only from
// a package meant for tests.
func TestNoFunctionLinksTesting(t *testing.T) {
	dir := root(t)
	for _, fn := range functions(t, dir) {
		all := deps(t, dir, fn)
		var via []string
		for _, d := range all {
			for _, imp := range d.Imports {
				if imp == "testing" || strings.HasPrefix(imp, "testing/") {
					via = append(via, d.ImportPath+" imports "+imp)
				}
			}
		}
		if len(via) > 0 {
			t.Errorf("%s links testing: %s", fn, strings.Join(via, "; "))
		}
	}
}

// DynamoDB's item types stay behind the store: no package under functions/ builds or
// reads raw items.
func TestNoFunctionImportsDynamoDBItemTypes(t *testing.T) {
	dir := root(t)
	for _, fn := range functions(t, dir) {
		for _, d := range deps(t, dir, fn) {
			if strings.HasPrefix(d.ImportPath, lint.Module+"/functions/") {
				for _, imp := range d.Imports {
					if imp == dynamodbTypes {
						t.Errorf("%s imports %s", d.ImportPath, imp)
					}
				}
			}
		}
	}
}

// The store speaks the domain's types: what a caller passes or gets back holds no AWS
// type, so no caller builds items. The one AWS type let through is the SDK client a
// constructor takes (the wiring in main or shared/boot holds one).
func TestTheStoresExportedAPIHoldsNoAWSType(t *testing.T) {
	pkgs, err := lint.Load(root(t), false, "./shared/store")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 || pkgs[0].Types.Scope().Lookup("Table") == nil {
		t.Fatalf("loaded %d packages, want shared/store", len(pkgs))
	}
	for _, f := range lint.ForeignTypes(pkgs[0].Types, awsPaths, constructorClient) {
		t.Error(f)
	}
}

var awsPaths = []string{"github.com/aws/", "github.com/aws/smithy-go"}

// constructorClient lets a New… function take an AWS service client.
func constructorClient(where string, n *types.Named) bool {
	return strings.HasPrefix(where, "New") && !strings.Contains(where, ".") &&
		n.Obj().Name() == "Client" && strings.HasPrefix(n.Obj().Pkg().Path(), "github.com/aws/aws-sdk-go-v2/service/")
}

// The API check sees an AWS type wherever the exported API can hold one, and lets the
// constructor's client be.
func TestTheAPICheckFindsAWSTypesEverywhere(t *testing.T) {
	pkgs, err := lint.Load(root(t), false, "./infra/lint/testdata/awsapi")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 {
		t.Fatalf("loaded %d packages, want the planted one", len(pkgs))
	}
	got := lint.ForeignTypes(pkgs[0].Types, awsPaths, constructorClient)
	want := []string{
		"Default: " + dynamodbTypes + ".AttributeValue",
		"Item: " + dynamodbTypes + ".AttributeValue",
		"Open: github.com/aws/aws-sdk-go-v2/service/dynamodb.Client",
		"Port.Write: " + dynamodbTypes + ".TransactWriteItem",
		"Table.Put: " + dynamodbTypes + ".AttributeValue",
		"Table.Raw: " + dynamodbTypes + ".TransactWriteItem",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("found\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

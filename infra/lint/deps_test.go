package lint_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/types"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/tierflow/tierflow/infra/lint"
)

const dynamodbTypes = "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

// functionDeps is one `go list -deps` of every function: for each function (a main
// package under functions/), the packages it links, each with its imports.
func functionDeps(t *testing.T) map[string][]listedDep {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Name,Imports,Deps", "./functions/...")
	cmd.Dir = root(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./functions/...: %v", err)
	}
	byPath := map[string]listedDep{}
	var mains []listedDep
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var d listedDep
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		byPath[d.ImportPath] = d
		if d.Name == "main" && strings.HasPrefix(d.ImportPath, lint.Module+"/functions/") {
			mains = append(mains, d)
		}
	}
	if len(mains) < 7 {
		t.Fatalf("go list named %d functions: the layout changed", len(mains))
	}
	fns := map[string][]listedDep{}
	for _, m := range mains {
		if len(m.Deps) < 10 {
			t.Fatalf("%s links %d packages: go list answered too little", m.ImportPath, len(m.Deps))
		}
		linked := []listedDep{m}
		for _, d := range m.Deps {
			linked = append(linked, byPath[d])
		}
		fns[strings.TrimPrefix(m.ImportPath, lint.Module+"/")] = linked
	}
	return fns
}

type listedDep struct {
	ImportPath, Name string
	Imports, Deps    []string
}

// A Lambda binary links no test code: `testing` (its flags, its helpers) comes only from
// a package meant for tests.
func TestNoFunctionLinksTesting(t *testing.T) {
	for fn, linked := range functionDeps(t) {
		var via []string
		for _, d := range linked {
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
	for _, linked := range functionDeps(t) {
		for _, d := range linked {
			if strings.HasPrefix(d.ImportPath, lint.Module+"/functions/") && slices.Contains(d.Imports, dynamodbTypes) {
				t.Errorf("%s imports %s", d.ImportPath, dynamodbTypes)
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

package samtemplate

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The project's template.yaml and Makefile, relative to this package.
const (
	projectTemplate = "../../../template.yaml"
	projectMakefile = "../../../Makefile"
)

func loadProject(t *testing.T) *Template {
	t.Helper()
	tp, err := Load(projectTemplate, nil)
	if err != nil {
		t.Fatalf("template.yaml does not load: %v", err)
	}
	return tp
}

// makeBuildTargets returns the logical ids that have a `build-<LogicalId>` target: written
// out literally, or generated from the FUNCTIONS list (LogicalId:folder pairs) through a
// `build-$(1):` template. It also returns the folder each FUNCTIONS pair names.
func makeBuildTargets(t *testing.T) (targets map[string]bool, folders map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(projectMakefile)
	if err != nil {
		t.Fatalf("read Makefile: %v", err)
	}
	text := strings.ReplaceAll(string(raw), "\\\n", " ")
	targets, folders = map[string]bool{}, map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^build-([A-Za-z0-9]+)\s*:`).FindAllStringSubmatch(text, -1) {
		targets[m[1]] = true
	}
	generated := regexp.MustCompile(`(?m)^build-\$\(1\)\s*:`).MatchString(text)
	if fl := regexp.MustCompile(`(?m)^FUNCTIONS\s*:?=(.*)$`).FindStringSubmatch(text); fl != nil {
		for _, pair := range strings.Fields(fl[1]) {
			id, dir, ok := strings.Cut(pair, ":")
			if !ok {
				continue
			}
			folders[id] = "functions/" + dir
			if generated {
				targets[id] = true
			}
		}
	}
	return targets, folders
}

func TestTemplateIsConsistent(t *testing.T) {
	tp := loadProject(t)
	if len(tp.Functions) == 0 {
		t.Fatal("template.yaml declares no AWS::Serverless::Function")
	}
	targets, folders := makeBuildTargets(t)

	t.Run("every function has a folder with main.go", func(t *testing.T) {
		for _, f := range tp.Functions {
			main := filepath.Join(tp.Root, f.Dir, "main.go")
			if _, err := os.Stat(main); errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: %s is missing: by convention %s lives in %s/ (kebab-case of the id without \"Function\")",
					f.LogicalID, filepath.Join(f.Dir, "main.go"), f.LogicalID, f.Dir)
			} else if err != nil {
				t.Errorf("%s: %v", f.LogicalID, err)
			}
		}
	})
	t.Run("every function has a Makefile build target", func(t *testing.T) {
		for _, f := range tp.Functions {
			if !targets[f.LogicalID] {
				t.Errorf("%s: the Makefile has no build-%s target (sam build with BuildMethod makefile calls it)", f.LogicalID, f.LogicalID)
			}
			if dir, ok := folders[f.LogicalID]; ok && dir != f.Dir {
				t.Errorf("%s: the Makefile's FUNCTIONS builds %s, the convention says %s", f.LogicalID, dir, f.Dir)
			}
		}
		for id := range folders {
			if _, ok := tp.Function(id); !ok {
				t.Errorf("the Makefile's FUNCTIONS lists %s, which template.yaml does not declare", id)
			}
		}
	})
	t.Run("every function is provided.al2023 arm64 bootstrap built by makefile", func(t *testing.T) {
		for _, f := range tp.Functions {
			if f.Runtime != "provided.al2023" || f.Handler != "bootstrap" || len(f.Architectures) != 1 || f.Architectures[0] != "arm64" || f.BuildMethod != "makefile" {
				t.Errorf("%s: Runtime %q Handler %q Architectures %v BuildMethod %q; want provided.al2023, bootstrap, [arm64], makefile",
					f.LogicalID, f.Runtime, f.Handler, f.Architectures, f.BuildMethod)
			}
		}
	})
	t.Run("every SQS event reports batch item failures", func(t *testing.T) {
		for _, f := range tp.Functions {
			for _, e := range f.SQS {
				if !e.ReportBatchItemFailures {
					t.Errorf("%s event %s: FunctionResponseTypes lacks ReportBatchItemFailures: one bad message would retry the whole batch", f.LogicalID, e.Name)
				}
				if q, _ := tp.Queue(e.Queue); q.IsDLQ {
					t.Errorf("%s event %s: consumes the dead-letter queue %s", f.LogicalID, e.Name, e.Queue)
				}
			}
		}
	})
	t.Run("every queue that is not a DLQ redrives to a DLQ", func(t *testing.T) {
		for _, q := range tp.Queues {
			if q.IsDLQ {
				if q.DLQ != "" {
					t.Errorf("%s is a DLQ with its own redrive policy", q.LogicalID)
				}
				continue
			}
			if q.DLQ == "" {
				t.Errorf("%s has no RedrivePolicy: a poison message would be retried forever", q.LogicalID)
			}
		}
	})
	t.Run("every route maps to a function once", func(t *testing.T) {
		seen := map[string]string{}
		for _, r := range tp.Routes() {
			if _, ok := tp.Function(r.Function); !ok || r.Function == "" {
				t.Errorf("route %s %s maps to no function", r.Method, r.Path)
			}
			key := r.Method + " " + r.Path
			if other, dup := seen[key]; dup {
				t.Errorf("route %s is declared by %s and %s", key, other, r.Function)
			}
			seen[key] = r.Function
		}
		if len(seen) == 0 {
			t.Error("template.yaml declares no HttpApi route")
		}
	})
	t.Run("every schedule has a time zone", func(t *testing.T) {
		for _, f := range tp.Functions {
			for _, s := range f.Schedules {
				if s.TimeZone == "" {
					t.Errorf("%s schedule %s has no ScheduleExpressionTimezone: it would run in UTC, not the business's time", f.LogicalID, s.Name)
				}
			}
		}
	})
	t.Run("every environment value resolves", func(t *testing.T) {
		r := fakeResolver{}
		for _, f := range tp.Functions {
			if _, err := f.Environment(r); err != nil {
				t.Errorf("%s: %v", f.LogicalID, err)
			}
		}
	})
}

// fakeResolver answers every resource reference, so that only broken references fail.
type fakeResolver struct{}

func (fakeResolver) Ref(id string) (string, bool)       { return "ref:" + id, true }
func (fakeResolver) GetAtt(id, a string) (string, bool) { return "att:" + id + "." + a, true }

func TestProjectTemplateReadsAsWritten(t *testing.T) {
	tp := loadProject(t)
	if tp.Table.LogicalID != "TierflowTable" || tp.Table.Name != "tierflow-dev" || tp.Table.TTLAttribute != "expiresAt" {
		t.Errorf("table: %+v", tp.Table)
	}
	if len(tp.Table.GSIs) != 4 {
		t.Errorf("table GSIs: %+v", tp.Table.GSIs)
	} else if g := tp.Table.GSIs[3]; g.Name != "GSI4" || g.Projection != "INCLUDE" || !slices.Contains(g.NonKeyAttributes, "tags") {
		t.Errorf("GSI4, the customers by store, reads as %+v", g)
	}
	if q, ok := tp.Queue("IngestQueue"); !ok || q.DLQ != "IngestDLQ" || q.MaxReceiveCount != 5 || q.Name != "tierflow-dev-ingest" {
		t.Errorf("IngestQueue: %+v", q)
	}
	if a := tp.API.Authorizers["StaffJwt"]; tp.API.DefaultAuthorizer != "StaffJwt" || len(a.Audience) != 1 {
		t.Errorf("HTTP API auth: %+v", tp.API)
	}
	health := false
	for _, r := range tp.Routes() {
		if r.Method == "GET" && r.Path == "/v1/health" {
			health = r.Authorizer == "" && r.Function == "PublicApiFunction"
		}
	}
	if !health {
		t.Error("GET /v1/health must be served by PublicApiFunction without an authorizer")
	}
}

package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tierflow/tierflow/infra/local/emulators"
	"github.com/tierflow/tierflow/shared/followup"
)

// A route added to template.yaml without a path in the document fails here, and so does
// a path the template no longer has.
func TestEveryTemplateRouteHasAPathInTheDocument(t *testing.T) {
	doc := document(t)
	routes := map[string]bool{}
	for _, r := range templateRoutes(t) {
		key := r.Method + " " + docPath(r.Path)
		routes[key] = true
		item := doc.Paths.Value(docPath(r.Path))
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s %s of template.yaml (%s) has no operation in functions/web/openapi.yaml", r.Method, r.Path, r.Function)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !routes[method+" "+path] {
				t.Errorf("the document describes %s %s, which template.yaml does not route", method, path)
			}
		}
	}
}

// eventOf is what an HTTP sample event of events/ holds.
type eventOf struct {
	RouteKey              string            `json:"routeKey"`
	QueryStringParameters map[string]string `json:"queryStringParameters"`
	Body                  string            `json:"body"`
	Headers               map[string]string `json:"headers"`
}

// refusedEvents are sample events of requests the API refuses: they are no example of the
// document, and the handler cases post them and check the refusal against it.
var refusedEvents = map[string]string{
	"api-transactions-invalid.json": "every field wrong: the handler cases post it and expect the document's 422",
}

// The document's examples are the sample events of events/: each example names the
// events it comes from (x-tierflow-event) and holds exactly their body or parameter,
// and every HTTP event of events/ is an example (or a request the API refuses).
func TestTheExamplesAreTheSampleEvents(t *testing.T) {
	doc := document(t)
	root, err := emulators.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no events/*.json: %v", err)
	}
	events := map[string]eventOf{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var e eventOf
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if e.RouteKey != "" {
			events[filepath.Base(f)] = e
		}
	}
	used := map[string]bool{}
	check := func(where string, ex *openapi3.Example, media string, param string) {
		names, _ := ex.Extensions["x-tierflow-event"].(string)
		if names == "" {
			return
		}
		for _, name := range strings.Fields(names) {
			e, ok := events[name]
			if !ok {
				t.Errorf("%s: example names events/%s, which is no HTTP sample event", where, name)
				continue
			}
			used[name] = true
			switch {
			case param != "":
				if got, want := ex.Value, exampleParam(e, param); want != "" && got != want {
					t.Errorf("%s: example %v, events/%s has %q", where, got, name, want)
				}
			case media == "application/x-www-form-urlencoded":
				vals, err := url.ParseQuery(e.Body)
				if err != nil {
					t.Errorf("events/%s: %v", name, err)
					continue
				}
				want := map[string]any{}
				for k := range vals {
					want[k] = vals.Get(k)
				}
				if !reflect.DeepEqual(ex.Value, want) {
					t.Errorf("%s: example %v, events/%s posts %v", where, ex.Value, name, want)
				}
			default:
				var want any
				if err := json.Unmarshal([]byte(e.Body), &want); err != nil {
					t.Errorf("events/%s: body: %v", name, err)
					continue
				}
				if !reflect.DeepEqual(normal(ex.Value), want) {
					t.Errorf("%s: example\n%s\nevents/%s posts\n%s", where, js(ex.Value), name, js(want))
				}
			}
		}
	}
	checkParams := func(where string, ps openapi3.Parameters) {
		for _, p := range ps {
			for k, ex := range p.Value.Examples {
				check(where+" parameter "+p.Value.Name+" example "+k, ex.Value, "", p.Value.Name)
			}
		}
	}
	for _, p := range doc.Components.Parameters {
		for k, ex := range p.Value.Examples {
			check("parameter "+p.Value.Name+" example "+k, ex.Value, "", p.Value.Name)
		}
	}
	for path, item := range doc.Paths.Map() {
		checkParams(path, item.Parameters)
		for method, op := range item.Operations() {
			where := method + " " + path
			checkParams(where, op.Parameters)
			if op.RequestBody == nil {
				continue
			}
			for mt, m := range op.RequestBody.Value.Content {
				for k, ex := range m.Examples {
					check(where+" "+mt+" example "+k, ex.Value, mt, "")
				}
			}
		}
	}
	var missing []string
	for name := range events {
		if !used[name] && refusedEvents[name] == "" {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	for _, name := range missing {
		t.Errorf("events/%s (%s) is an example of no operation: add it to functions/web/openapi.yaml with x-tierflow-event: %s", name, events[name].RouteKey, name)
	}
}

// exampleParam is the value an event gives a parameter, "" when it sets none (path
// parameters of the events are placeholders like REPLACE_ID).
func exampleParam(e eventOf, name string) string {
	if v, ok := e.QueryStringParameters[name]; ok {
		return v
	}
	return ""
}

// normal turns kin-openapi's decoded example into plain JSON values.
func normal(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

func js(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprintf("%#v (not JSON: %v)", v, err)
	}
	return string(b)
}

// GET /v1/openapi.json lints clean with Redocly CLI's recommended rules (installed from
// infra/local/contract/lint's lock file by make deps). The one finding kept is listed,
// with its reason, in that folder's .redocly.lint-ignore.yaml.
func TestTheServedDocumentLintsClean(t *testing.T) {
	root, err := emulators.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	lint := filepath.Join(root, "infra", "local", "contract", "lint")
	bin := filepath.Join(lint, "node_modules", ".bin", "redocly")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("Redocly CLI is not installed (%v): run make deps", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "openapi.json"), servedDocument(t), 0o644); err != nil {
		t.Fatal(err)
	}
	ignore, err := os.ReadFile(filepath.Join(lint, ".redocly.lint-ignore.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".redocly.lint-ignore.yaml"), ignore, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "lint", "--format=stylish", "openapi.json")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	text := out.String()
	if err != nil || !strings.Contains(text, "Your API description is valid") || warnings.MatchString(text) {
		t.Fatalf("redocly lint GET /v1/openapi.json: %v\n%s", err, text)
	}
	t.Logf("redocly lint: %s", lastLine(text, "valid"))
}

// warnings matches Redocly's count of warnings ("You have 2 warnings."); a clean run has none.
var warnings = regexp.MustCompile(`(?i)you have \d+ warnings?`)

func lastLine(s, containing string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], containing) {
			return strings.TrimSpace(lines[i])
		}
	}
	return ""
}

// The timeline's reason codes in the document are the domain's (followup.Reasons): a
// code added in Go and not documented would fail the answer's validation only once a
// message was held back for it.
func TestTheDocumentedReasonCodesAreTheDomains(t *testing.T) {
	s := document(t).Components.Schemas["TimelineReminder"]
	if s == nil || s.Value == nil || s.Value.Properties["reason"] == nil {
		t.Fatal("the document has no TimelineReminder.reason")
	}
	var documented, domain []string
	for _, v := range s.Value.Properties["reason"].Value.Enum {
		documented = append(documented, fmt.Sprint(v))
	}
	for _, r := range followup.Reasons() {
		domain = append(domain, string(r))
	}
	sort.Strings(documented)
	if !reflect.DeepEqual(documented, domain) {
		t.Errorf("TimelineReminder.reason lists\n%v\nfollowup.Reasons() are\n%v", documented, domain)
	}
}

package samtemplate

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tierflow/tierflow/shared/secrets"
)

// StaffScope is the OAuth scope every staff route requires (docs/security.md: the
// tierflow resource server of the identity provider).
const StaffScope = "tierflow/staff"

// rawProject is template.yaml as plain values, intrinsics as one-key maps: for what the
// local runtime does not read (policies, route settings).
func rawProject(t *testing.T) map[string]any {
	t.Helper()
	src, err := os.ReadFile(projectTemplate)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	v, err := toValue(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

func resourceProps(raw map[string]any, id string) map[string]any {
	return mapOf(mapOf(mapOf(raw["Resources"])[id])["Properties"])
}

// statements flattens a function's Policies into IAM statements; a SAM policy template
// ({DynamoDBCrudPolicy: ...}) comes back as a statement with only its name in Sid.
func statements(props map[string]any) []map[string]any {
	var out []map[string]any
	for _, p := range listOf(props["Policies"]) {
		m := mapOf(p)
		if m == nil {
			out = append(out, map[string]any{"Sid": "managed:" + str(p)})
			continue
		}
		if st, ok := m["Statement"]; ok {
			for _, s := range listOf(st) {
				out = append(out, mapOf(s))
			}
			continue
		}
		for name := range m {
			out = append(out, map[string]any{"Sid": "template:" + name})
		}
	}
	return out
}

func actions(st map[string]any) []string {
	if a, ok := st["Action"].(string); ok {
		return []string{a}
	}
	var out []string
	for _, a := range listOf(st["Action"]) {
		out = append(out, str(a))
	}
	return out
}

// leadingKeys returns the ForAllValues:StringLike/StringEquals dynamodb:LeadingKeys
// patterns of a statement (nil when it has none).
func leadingKeys(st map[string]any) []string {
	cond := mapOf(st["Condition"])
	for _, op := range []string{"ForAllValues:StringLike", "ForAllValues:StringEquals"} {
		if lk, ok := mapOf(cond[op])["dynamodb:LeadingKeys"]; ok {
			var out []string
			for _, v := range listOf(lk) {
				out = append(out, str(v))
			}
			return out
		}
	}
	return nil
}

// itemActions are the DynamoDB actions that read or write items by key.
var itemActions = []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
	"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem"}

func TestTemplateSecurity(t *testing.T) {
	tp := loadProject(t)
	raw := rawProject(t)

	t.Run("machine routes take an API key and staff routes never do", func(t *testing.T) {
		n := 0
		for _, r := range tp.Routes() {
			machine := strings.HasPrefix(r.Path, "/v1/machine/")
			byKey := r.Authorizer != "" && tp.API.Authorizers[r.Authorizer].Lambda != nil
			if machine != byKey {
				t.Errorf("%s %s (%s): authorizer %q; /v1/machine/ routes, and only they, use the API-key authorizer", r.Method, r.Path, r.Name, r.Authorizer)
			}
			if byKey {
				n++
				if la := tp.API.Authorizers[r.Authorizer].Lambda; la.TTL > time.Minute || !slices.Contains(la.Headers, "X-Api-Key") {
					t.Errorf("%s: the key authorizer caches %s (a revoked key must be refused within a minute) on %v", r.Name, la.TTL, la.Headers)
				}
			}
		}
		if n == 0 {
			t.Error("no route takes an API key")
		}
	})

	t.Run("every staff route requires the tierflow/staff scope", func(t *testing.T) {
		n := 0
		for _, r := range tp.Routes() {
			if r.Authorizer == "" || tp.API.Authorizers[r.Authorizer].Lambda != nil {
				continue // no authorizer, or the API-key authorizer (no token, no scopes)
			}
			n++
			if !slices.Contains(r.Scopes, StaffScope) {
				t.Errorf("%s %s (%s): AuthorizationScopes %v lacks %s: an ID token would be accepted as an access token",
					r.Method, r.Path, r.Name, r.Scopes, StaffScope)
			}
		}
		if n == 0 {
			t.Error("no route has an authorizer")
		}
	})

	// The functions behind unauthenticated routes: anyone on the internet reaches them.
	public := map[string]bool{}
	for _, r := range tp.Routes() {
		if r.Authorizer == "" {
			public[r.Function] = true
		}
	}
	t.Run("a function behind a public route touches the table only by allowed key prefixes", func(t *testing.T) {
		if len(public) == 0 {
			t.Fatal("no public route: the lead form must be one")
		}
		staffOnly := []string{"AUDIT#c1", "POLICY#tiering", "RUN#r1", "TXNID#pos#INV-1", "ALERT#s1", "STORE#s1", "SEAL#x"}
		for fn := range public {
			props := resourceProps(raw, fn)
			var prefixes []string
			for _, st := range statements(props) {
				sid := str(st["Sid"])
				if strings.HasPrefix(sid, "template:DynamoDB") || strings.HasPrefix(sid, "managed:") {
					t.Errorf("%s: policy %s grants the whole table; list the key prefixes instead", fn, sid)
				}
				acts := actions(st)
				for _, a := range acts {
					if a == "dynamodb:*" || a == "dynamodb:Scan" || a == "dynamodb:PartiQLSelect" {
						t.Errorf("%s: statement %s allows %s, which no key condition limits", fn, sid, a)
					}
				}
				if !slices.ContainsFunc(acts, func(a string) bool { return slices.Contains(itemActions, a) }) {
					continue
				}
				lk := leadingKeys(st)
				if len(lk) == 0 {
					t.Errorf("%s: statement %s reads or writes items with no dynamodb:LeadingKeys condition", fn, sid)
				}
				prefixes = append(prefixes, lk...)
			}
			if len(prefixes) == 0 && touchesTable(props) {
				t.Errorf("%s: no LeadingKeys-limited statement", fn)
			}
			for _, pk := range staffOnly {
				for _, p := range prefixes {
					ok, err := path.Match(p, pk)
					if err != nil {
						t.Errorf("%s: LeadingKeys pattern %q: %v", fn, p, err)
					}
					if ok || p == "*" {
						t.Errorf("%s: LeadingKeys pattern %q lets an unauthenticated caller's function reach %s", fn, p, pk)
					}
				}
			}
		}
	})

	t.Run("no secret is a plain environment variable", func(t *testing.T) {
		for name, p := range mapOf(raw["Parameters"]) {
			if v, _ := mapOf(p)["NoEcho"].(bool); v {
				t.Errorf("parameter %s is NoEcho: a secret passed through CloudFormation ends up in the function's environment; pass an SSM parameter name", name)
			}
		}
		secretish := regexp.MustCompile(`SECRET|PASSWORD|TOKEN|HASH_KEY|PRIVATE`)
		for _, f := range tp.Functions {
			for k := range f.env {
				if slices.Contains(secrets.Names, k) || k == secrets.LocalRuntimeEnv {
					t.Errorf("%s: %s is a plain variable; pass %s%s, the SSM SecureString's name", f.LogicalID, k, k, secrets.ParamSuffix)
					continue
				}
				if secretish.MatchString(k) && !strings.HasSuffix(k, secrets.ParamSuffix) {
					t.Errorf("%s: %s looks like a secret in a plain variable; keep it in SSM and pass its name as %s%s",
						f.LogicalID, k, k, secrets.ParamSuffix)
				}
				if name, ok := strings.CutSuffix(k, secrets.ParamSuffix); ok && !slices.Contains(secrets.Names, name) {
					t.Errorf("%s: %s names a parameter for %s, which shared/secrets does not read", f.LogicalID, k, name)
				}
			}
		}
	})

	t.Run("every function may read the secrets it is given", func(t *testing.T) {
		for _, f := range tp.Functions {
			var named []string
			for k := range f.env {
				if strings.HasSuffix(k, secrets.ParamSuffix) {
					named = append(named, k)
				}
			}
			if len(named) == 0 || !linksSecrets(t, tp.Root, f.Dir) {
				continue // a Global variable the function's code never reads (e.g. the web app)
			}
			granted := false
			for _, st := range statements(resourceProps(raw, f.LogicalID)) {
				granted = granted || slices.Contains(actions(st), "ssm:GetParameters")
			}
			if !granted {
				t.Errorf("%s reads %v but its policies do not grant ssm:GetParameters", f.LogicalID, named)
			}
		}
	})

	t.Run("every variable the code reads is declared in the template", func(t *testing.T) {
		declaredBy := map[string][]string{} // variable -> functions
		for _, f := range tp.Functions {
			for k := range f.env {
				declaredBy[k] = append(declaredBy[k], f.LogicalID)
				if name, ok := strings.CutSuffix(k, secrets.ParamSuffix); ok {
					declaredBy[name] = append(declaredBy[name], f.LogicalID) // read through shared/secrets
				}
			}
		}
		reads := codeEnvReads(t, tp.Root)
		for _, r := range reads {
			v, rel := r.Var, r.File
			if _, ok := provided[v]; ok {
				continue
			}
			fns := declaredBy[v]
			if strings.HasPrefix(rel, "functions"+string(filepath.Separator)) {
				dir := "functions/" + strings.Split(filepath.ToSlash(rel), "/")[1]
				own := false
				for _, f := range tp.Functions {
					own = own || (f.Dir == dir && slices.Contains(fns, f.LogicalID))
				}
				if !own {
					t.Errorf("%s reads %s, which the template does not declare for the function in %s", rel, v, dir)
				}
			} else if len(fns) == 0 {
				t.Errorf("%s reads %s, which no function in the template declares", rel, v)
			}
		}
	})

	t.Run("the stage throttles every route and the lead form more", func(t *testing.T) {
		api := resourceProps(raw, tp.API.LogicalID)
		num := func(v any) int {
			if ref, ok := mapOf(v)["Ref"].(string); ok {
				v = tp.Params[ref]
			}
			n, err := strconv.Atoi(str(v))
			if err != nil {
				t.Fatalf("throttling value %v is not a number", v)
			}
			return n
		}
		def := mapOf(api["DefaultRouteSettings"])
		if def["ThrottlingRateLimit"] == nil || def["ThrottlingBurstLimit"] == nil {
			t.Fatalf("HttpApi DefaultRouteSettings lacks throttling: %v", def)
		}
		leads := mapOf(mapOf(api["RouteSettings"])["POST /v1/leads"])
		if leads == nil {
			t.Fatal("HttpApi RouteSettings has no entry for POST /v1/leads")
		}
		if num(leads["ThrottlingRateLimit"]) >= num(def["ThrottlingRateLimit"]) || num(leads["ThrottlingBurstLimit"]) > num(def["ThrottlingBurstLimit"]) {
			t.Errorf("POST /v1/leads throttling %v is not stricter than the default %v", leads, def)
		}
		routes := map[string]bool{}
		for _, r := range tp.Routes() {
			routes[r.Method+" "+r.Path] = true
		}
		for key := range mapOf(api["RouteSettings"]) {
			if !routes[key] {
				t.Errorf("RouteSettings names %q, which is not a route", key)
			}
		}
	})

	t.Run("CORS is the HTTP API's alone", func(t *testing.T) {
		if len(tp.API.CORS.AllowOrigins) == 0 || slices.Contains(tp.API.CORS.AllowOrigins, "*") {
			t.Errorf("CorsConfiguration AllowOrigins = %v: want the business's pages, never *", tp.API.CORS.AllowOrigins)
		}
		for _, h := range []string{"Location", "Retry-After"} {
			if !slices.Contains(tp.API.CORS.ExposeHeaders, h) {
				t.Errorf("CorsConfiguration ExposeHeaders lacks %s: scripts could not read it", h)
			}
		}
	})
}

// touchesTable reports whether a function's policies grant any DynamoDB action: a
// function that cannot reach the table at all needs no key condition.
func touchesTable(props map[string]any) bool {
	for _, st := range statements(props) {
		sid := str(st["Sid"])
		if strings.HasPrefix(sid, "template:DynamoDB") || strings.HasPrefix(sid, "managed:") {
			return true
		}
		for _, a := range actions(st) {
			if strings.HasPrefix(a, "dynamodb:") {
				return true
			}
		}
	}
	return false
}

// linksSecrets reports whether the function in dir links shared/secrets, the one package
// that reads the *_PARAM parameters.
func linksSecrets(t *testing.T, root, dir string) bool {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "./"+dir)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./%s: %v", dir, err)
	}
	return slices.Contains(strings.Fields(string(out)), "github.com/tierflow/tierflow/shared/secrets")
}

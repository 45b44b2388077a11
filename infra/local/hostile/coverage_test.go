package hostile

import (
	"slices"
	"testing"

	"github.com/tierflow/tierflow/infra/local/samtemplate"
)

// routeInfo is a route of template.yaml as the suite sees it.
type routeInfo struct {
	Method, Path string
	Staff        bool // behind the JWT authorizer
}

func (r routeInfo) Key() string { return r.Method + " " + r.Path }

// templateRoutes are the routes the running stack serves, read by the project's own
// template parser.
func templateRoutes(t *testing.T) []routeInfo {
	t.Helper()
	var out []routeInfo
	for _, r := range st.Template.Routes() {
		out = append(out, routeInfo{Method: r.Method, Path: r.Path, Staff: r.Authorizer != ""})
	}
	if len(out) == 0 {
		t.Fatal("template.yaml has no routes")
	}
	return out
}

// routePresent reports whether the running stack serves a route ("GET /v1/consent/confirm").
func routePresent(key string) bool {
	return slices.ContainsFunc(st.Template.Routes(), func(r samtemplate.Route) bool { return r.Method+" "+r.Path == key })
}

func allRows(t *testing.T) []row {
	return append(rows(), probes(templateRoutes(t))...)
}

// A route added to template.yaml without hostile rows fails here: the generated
// authentication probes do not count, a row written for the route does. Rows for routes
// still being added (Needs) wait for them without failing.
func TestEveryTemplateRouteHasHostileRows(t *testing.T) {
	routes := templateRoutes(t)
	byRoute := map[string]int{}
	for _, r := range rows() {
		byRoute[r.Route]++
	}
	for _, rt := range routes {
		if byRoute[rt.Key()] == 0 {
			t.Errorf("route %s of template.yaml has no hostile rows: add rows for it to rows_test.go "+
				"(who may not call it, what input it must refuse, what it must not change)", rt.Key())
		}
	}
	for _, r := range rows() {
		known := slices.ContainsFunc(routes, func(rt routeInfo) bool { return rt.Key() == r.Route })
		switch {
		case r.Route == "" && r.Class != door:
			t.Errorf("row %q names no route", r.Name)
		case r.Route != "" && !known && r.Needs == "":
			t.Errorf("row %q attacks %s, which template.yaml does not have (a typo, or a route being added: set Needs)", r.Name, r.Route)
		case r.Needs != "" && r.Needs != r.Route:
			t.Errorf("row %q waits for %s but attacks %s", r.Name, r.Needs, r.Route)
		}
	}
}

package gateway

import (
	"strings"

	"github.com/tierflow/tierflow/infra/local/samtemplate"
)

// route is a template route ready for matching.
type route struct {
	samtemplate.Route
	key  string // "POST /v1/leads", the event's routeKey
	segs []string
}

func compileRoutes(rs []samtemplate.Route) []route {
	out := make([]route, 0, len(rs))
	for _, r := range rs {
		key := r.Method + " " + r.Path
		if r.Path == "$default" {
			key = "$default"
		}
		out = append(out, route{Route: r, key: key, segs: split(r.Path)})
	}
	return out
}

func split(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// match finds the route API Gateway would choose: the most specific path (literal
// segments beat {param}, which beats {proxy+}), then an exact method over ANY, then
// $default. It returns the path parameters of the chosen route.
func match(routes []route, method, path string) (*route, map[string]string) {
	segs := split(path)
	var best *route
	var bestScore []int
	var bestParams map[string]string
	var fallback *route
	for i := range routes {
		r := &routes[i]
		if r.Path == "$default" {
			fallback = r
			continue
		}
		if r.Method != method && r.Method != "ANY" {
			continue
		}
		params, score, ok := matchPath(r.segs, segs)
		if !ok {
			continue
		}
		if r.Method != "ANY" {
			score = append(score, 1)
		} else {
			score = append(score, 0)
		}
		if best == nil || better(score, bestScore) {
			best, bestScore, bestParams = r, score, params
		}
	}
	if best != nil {
		return best, bestParams
	}
	return fallback, nil
}

func matchPath(tpl, segs []string) (map[string]string, []int, bool) {
	var params map[string]string
	score := make([]int, 0, len(tpl))
	for i, t := range tpl {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "+}") {
			if i >= len(segs) {
				return nil, nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[strings.TrimSuffix(t[1:], "+}")] = strings.Join(segs[i:], "/")
			return params, append(score, 0), true
		}
		if i >= len(segs) {
			return nil, nil, false
		}
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if params == nil {
				params = map[string]string{}
			}
			params[t[1:len(t)-1]] = segs[i]
			score = append(score, 1)
			continue
		}
		if t != segs[i] {
			return nil, nil, false
		}
		score = append(score, 2)
	}
	if len(tpl) != len(segs) {
		return nil, nil, false
	}
	return params, score, true
}

func better(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return len(a) > len(b)
}

// pathMatchesAny reports whether some route has this path under another method; API
// Gateway still answers 404 then, but the log says why.
func pathMatchesAny(routes []route, path string) bool {
	segs := split(path)
	for _, r := range routes {
		if _, _, ok := matchPath(r.segs, segs); ok {
			return true
		}
	}
	return false
}

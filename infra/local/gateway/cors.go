package gateway

import (
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/tierflow/tierflow/infra/local/samtemplate"
)

// cors applies an HTTP API CorsConfiguration: the gateway answers preflights itself and
// sets the CORS headers on every response, ignoring any the function returns.
type cors struct{ cfg samtemplate.CORS }

func (c cors) enabled() bool { return len(c.cfg.AllowOrigins) > 0 }

func (c cors) originAllowed(origin string) bool {
	if origin == "" {
		return false
	}
	for _, o := range c.cfg.AllowOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
		if strings.Contains(o, "*") { // https://*.example.com
			if ok, _ := path.Match(strings.ToLower(o), strings.ToLower(origin)); ok {
				return true
			}
		}
	}
	return false
}

func (c cors) allowOrigin(origin string) string {
	if slices.Contains(c.cfg.AllowOrigins, "*") && !c.cfg.AllowCredentials {
		return "*"
	}
	return origin
}

func containsFold(list []string, v string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return x == "*" || strings.EqualFold(x, v) })
}

// isPreflight is an OPTIONS request carrying the CORS preflight headers.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers an OPTIONS preflight: 204, with the CORS headers only when origin,
// method and headers are all allowed.
func (c cors) preflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	method := r.Header.Get("Access-Control-Request-Method")
	var reqHeaders []string
	for _, h := range strings.Split(r.Header.Get("Access-Control-Request-Headers"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			reqHeaders = append(reqHeaders, h)
		}
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	ok := c.originAllowed(origin) && containsFold(c.cfg.AllowMethods, method)
	for _, rh := range reqHeaders {
		ok = ok && containsFold(c.cfg.AllowHeaders, rh)
	}
	if ok {
		h.Set("Access-Control-Allow-Origin", c.allowOrigin(origin))
		h.Set("Access-Control-Allow-Methods", strings.Join(c.cfg.AllowMethods, ","))
		if len(reqHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.ToLower(strings.Join(c.cfg.AllowHeaders, ",")))
		}
		if c.cfg.MaxAge > 0 {
			h.Set("Access-Control-Max-Age", strconv.Itoa(c.cfg.MaxAge))
		}
		if c.cfg.AllowCredentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// decorate sets the CORS headers of an actual (non-preflight) response. With a
// CorsConfiguration the API's headers replace whatever the function set, as API Gateway
// does; without one the function's own headers pass through.
func (c cors) decorate(h http.Header, origin string) {
	if !c.enabled() {
		return
	}
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			h.Del(k)
		}
	}
	if !c.originAllowed(origin) {
		return
	}
	h.Set("Access-Control-Allow-Origin", c.allowOrigin(origin))
	h.Add("Vary", "Origin")
	if len(c.cfg.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.cfg.ExposeHeaders, ","))
	}
	if c.cfg.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

package httpx

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// CORS lets scripts on allow-listed origins call the API. Plain HTML form posts do not
// need it and are not blocked by it: a browser navigates, it does not read the response.
type CORS struct {
	AllowOrigins []string // exact origins, e.g. "https://www.example.com"; "*" allows any
	AllowHeaders []string // request headers scripts may send; a sensible default when empty
	MaxAge       time.Duration
}

var defaultAllowHeaders = []string{"Content-Type", "Idempotency-Key", "Authorization"}

// Allowed reports whether origin is on the allow-list. Origins compare case-insensitively
// on scheme and host, as browsers send them lower-case anyway.
func (c *CORS) Allowed(origin string) bool {
	if origin == "" {
		return false
	}
	for _, o := range c.AllowOrigins {
		if o == "*" || strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}

func (c *CORS) preflight(req events.APIGatewayV2HTTPRequest, allow []string) (events.APIGatewayV2HTTPResponse, error) {
	origin := Header(req, "Origin")
	want := strings.ToUpper(Header(req, "Access-Control-Request-Method"))
	if want == "" {
		return events.APIGatewayV2HTTPResponse{}, MethodNotAllowed(allow...)
	}
	if !c.Allowed(origin) {
		return events.APIGatewayV2HTTPResponse{}, Forbidden("This origin may not call the API from a script.")
	}
	if len(allow) == 0 {
		return events.APIGatewayV2HTTPResponse{}, NotFound("Route")
	}
	if !slices.Contains(allow, want) {
		return events.APIGatewayV2HTTPResponse{}, MethodNotAllowed(allow...)
	}
	headers := c.AllowHeaders
	if len(headers) == 0 {
		headers = defaultAllowHeaders
	}
	resp := events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent, Headers: map[string]string{
		"Access-Control-Allow-Methods": strings.Join(allow, ", "),
		"Access-Control-Allow-Headers": strings.Join(headers, ", "),
	}}
	if c.MaxAge > 0 {
		resp.Headers["Access-Control-Max-Age"] = strconv.Itoa(int(c.MaxAge.Seconds()))
	}
	return resp, nil
}

// decorate adds the allow-origin headers to any response for an allowed origin, errors
// included, so a script can read the problem document.
func (c *CORS) decorate(req events.APIGatewayV2HTTPRequest, resp *events.APIGatewayV2HTTPResponse) {
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	resp.Headers["Vary"] = "Origin"
	origin := Header(req, "Origin")
	if !c.Allowed(origin) {
		return
	}
	resp.Headers["Access-Control-Allow-Origin"] = origin
	resp.Headers["Access-Control-Expose-Headers"] = "Location, Retry-After"
}

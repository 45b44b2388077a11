package httpx

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// JSON answers v as application/json. A value that cannot be encoded is a programming
// error on our side and is answered as a 500 problem rather than half a body.
func JSON(status int, v any) events.APIGatewayV2HTTPResponse {
	body, err := json.Marshal(v)
	if err != nil {
		return ErrorResponse(fmt.Errorf("encode response: %w", err), "")
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(body),
	}
}

// SeeOther sends a browser that posted a plain HTML form on to location with GET, so that
// reloading the thank-you page does not post the form again.
func SeeOther(location string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusSeeOther,
		Headers:    map[string]string{"Location": location, "Content-Type": "text/plain; charset=utf-8"},
		Body:       "See " + location,
	}
}

// NoContent answers 204.
func NoContent() events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent, Headers: map[string]string{}}
}

// RedirectTarget returns target when it is an absolute http(s) URL on one of origins
// ("https://www.example.com"), otherwise fallback. A form's own "redirect" field must not
// turn the API into an open redirector for phishing links.
func RedirectTarget(target string, origins []string, fallback string) string {
	u, err := url.Parse(strings.TrimSpace(target))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fallback
	}
	origin := u.Scheme + "://" + u.Host
	for _, o := range origins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return u.String()
		}
	}
	return fallback
}

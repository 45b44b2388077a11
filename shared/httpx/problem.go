package httpx

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// ProblemTypeBase prefixes every problem type; a URN keeps types stable without promising
// a web page behind them.
const ProblemTypeBase = "urn:tierflow:problem:"

// Problem is the RFC 9457 body.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// ProblemFor builds the problem document for err; instance identifies this occurrence
// (the request id) so a user can quote it to support.
func ProblemFor(err error, instance string) Problem {
	e := classify(err)
	return Problem{
		Type:     ProblemTypeBase + e.Slug,
		Title:    http.StatusText(e.Status),
		Status:   e.Status,
		Detail:   e.Detail,
		Instance: instance,
		Errors:   e.Fields,
	}
}

// ErrorResponse answers err as problem+json.
func ErrorResponse(err error, instance string) events.APIGatewayV2HTTPResponse {
	e := classify(err)
	body, _ := json.Marshal(ProblemFor(err, instance)) // plain strings and ints: cannot fail
	h := map[string]string{
		"Content-Type":  "application/problem+json",
		"Cache-Control": "no-store",
	}
	if e.Status == http.StatusTooManyRequests && e.RetryAfter > 0 {
		h["Retry-After"] = strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds())))
	}
	if len(e.Allow) > 0 {
		h["Allow"] = strings.Join(e.Allow, ", ")
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: e.Status, Headers: h, Body: string(body)}
}

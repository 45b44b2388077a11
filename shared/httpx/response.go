package httpx

import (
	"encoding/json"
	"fmt"
	"net/http"

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

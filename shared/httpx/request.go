package httpx

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Header looks a header up regardless of case: API Gateway lower-cases names, the local
// runtime and tests may not.
func Header(req events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// RequestID is API Gateway's id for the request, used as problem instance and log key.
func RequestID(req events.APIGatewayV2HTTPRequest) string { return req.RequestContext.RequestID }

// SourceIP is the client address as API Gateway saw it; it is what consent records and
// rate limits use, never a client-supplied X-Forwarded-For.
func SourceIP(req events.APIGatewayV2HTTPRequest) string { return req.RequestContext.HTTP.SourceIP }

// Method is the HTTP method, upper case.
func Method(req events.APIGatewayV2HTTPRequest) string {
	return strings.ToUpper(req.RequestContext.HTTP.Method)
}

// Path is the raw request path, falling back to the context path.
func Path(req events.APIGatewayV2HTTPRequest) string {
	if req.RawPath != "" {
		return req.RawPath
	}
	return req.RequestContext.HTTP.Path
}

// Package httpx owns the HTTP edge shared by every API Gateway (HTTP API, payload v2)
// function: typed errors and their single mapping to RFC 9457 problem+json, request body
// decoding (base64, size limit, UTF-8, JSON and HTML forms), a small router on RouteKey,
// and response helpers (CORS belongs to the HTTP API's CorsConfiguration alone). Handlers return errors; the router turns
// them into responses, so no handler ever builds a status code for a failure by hand.
package httpx

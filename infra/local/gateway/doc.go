// Package gateway is the local API Gateway HTTP API: it serves the template's HttpApi
// routes on loopback as payload format 2.0 events, verifies staff JWTs like the API's JWT
// authorizer, answers CORS as the API's CorsConfiguration says, and maps the function's
// response back to HTTP. Around the API it serves the static pages of infra/local/pages
// and the loopback admin API under /_local/ (invoke a function, fire a schedule, JWKS,
// the SMS outbox, status).
package gateway

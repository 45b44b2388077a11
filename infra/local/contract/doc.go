// Package contract holds the tests that keep the published OpenAPI document
// (functions/web/openapi.yaml, served at GET /v1/openapi.json) and the running handlers in
// step: every route of template.yaml has a path in the document, every example in it is a
// sample event of events/, the document lints clean with Redocly CLI, and the real
// handlers' requests and responses — every problem+json error the document names
// included — validate against it through a local stack (kin-openapi's openapi3filter).
package contract

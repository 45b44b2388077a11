// Package hostile is the hostile-request suite of `make test` (issue #10): through the
// local runtime — the stack `make run` starts — it sends requests an attacker would send
// (another store's customers, forged or scope-less tokens, mass assignment, oversized
// input, tampered cursors and links, the local admin door) and checks, for each, that the
// request is refused as the contracts say and that no stored data changed.
//
// The suite is a table (rows_test.go). Every route of template.yaml must have rows: a test
// reads the routes with the project's own template parser and fails for a route without
// any, so a new route cannot ship without hostile requests against it.
package hostile

// Package store is the DynamoDB adapter: one table, every key built in keys.go, the items
// and access patterns documented in docs/data-model.md. It maps the domain's values to
// items and back, enforces uniqueness and idempotency with conditional writes, and
// counts the request units every operation consumes. Its exported API holds no DynamoDB
// type but the client New takes: callers get typed values (a profile, a reminder, a
// timeline entry), never items or keys to parse.
//
// Table is the table itself and the customer side (leads, profiles, erasure, audit,
// rate limits and idempotency keys), the re-tier runs, transactions, models and
// policies. Follow-up has one small adapter per port of shared/followup/app
// (followup.go lists them); which services run over them is the functions' wiring
// (their main.go, shared/boot), not this package's.
//
// It implements the ports of shared/access (accessports.go), and Staff (staffdesk.go) is
// the staff API's way in: every read or write of something a staff request names takes
// the grant the access layer resolved for it.
package store

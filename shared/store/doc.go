// Package store is the DynamoDB adapter: one table, keys built in keys.go, access
// patterns documented in docs/data-model.md. Domain packages never see a DynamoDB type;
// this package maps their values to items and back, enforces uniqueness and idempotency
// with conditional writes, and counts the request units every operation consumes.
//
// It implements the ports of shared/access (accessports.go), and Staff (staffdesk.go) is
// the staff API's way in: every read or write of something a staff request names takes
// the grant the access layer resolved for it.
package store

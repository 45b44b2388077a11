// Package store is the DynamoDB adapter: one table, keys built in keys.go, access
// patterns documented in docs/data-model.md. Domain packages never see a DynamoDB type;
// this package maps their values to items and back, enforces uniqueness and idempotency
// with conditional writes, and counts the request units every operation consumes.
package store

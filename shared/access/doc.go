// Package access is the one place a staff request's target is resolved and authorized.
//
// Everything a staff route names — a customer, a task, a customer's audit log, the
// customer of a posted transaction, a store's list, a re-tier run or report — is resolved
// here from an auth.Principal: the id is validated (contract C1), the target is loaded
// through a small port the store implements, and a target of a store the caller does not
// cover is answered exactly like an id that does not exist (the same 404). The role a
// route needs is checked here too (Require), so function-level and object-level
// authorization read as one table.
//
// What the layer resolves comes back as a grant (Customer, Task, Store, Scope, Run,
// TaskScope): a value only this package can make, which the store's staff reads and
// writes take as their argument. A handler that skipped the layer has nothing to pass
// them; functions/api has a test that it holds no other way to load what a request names.
//
// The package is plain Go: no AWS SDK, no DynamoDB types.
package access

// Package lint holds the checks that keep issue #11's boundaries true (its tests run in
// `make test`): no error result discarded in a test, no t.Fatal from a goroutine a test
// starts, no `testing` linked into a function, no DynamoDB item types in functions/, no
// AWS type in the store's exported API.
//
// Load type-checks packages of the module, test variants from source, against the export
// data `go list -export` finds in the build cache or compiles: the standard library only,
// nothing to download.
package lint

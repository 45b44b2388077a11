package build

import (
	"fmt"
	"slices"
)

// MiB is the unit of the budgets (issue #13's "12 MB" is 12 MiB: its "today" figures
// are MiB of the same files).
const MiB = 1 << 20

// Function is one Lambda function's folder and what its bootstrap may be.
type Function struct {
	Dir string // under functions/
	// Budget is issue #13's target in bytes; Ceiling, when set, is the size today for a
	// function not yet inside its budget: the check fails above it, so the bootstrap can
	// only shrink until it meets the budget (then Ceiling is removed).
	Budget, Ceiling int64
	// Links are the heavy packages this function uses; every other entry of Heavy is a
	// package it must not link.
	Links []string
	// MethodLookup, when set, says why this function may reach a method lookup by a
	// run-time name (executing a template), which keeps every exported method of every
	// type it links; TestNoFunctionLooksUpMethodsByRunTimeName fails for any other.
	MethodLookup string
}

// Heavy are packages that weigh in a bootstrap and that only some functions need.
var Heavy = []string{
	"testing",                                  // test-only: never in a bootstrap
	"github.com/nyaruka/phonenumbers",          // ~8 MB with protobuf; reading typed numbers
	"github.com/aws/aws-sdk-go-v2/service/kms", // opening the sensitive section
	"github.com/aws/aws-sdk-go-v2/service/sesv2",
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2",
	"github.com/aws/aws-sdk-go-v2/service/dynamodb", // the table: not in the web app
	"github.com/aws/aws-sdk-go-v2/service/ssm",      // one call at start: shared/secrets.SSM over HTTP
}

const (
	phones = "github.com/nyaruka/phonenumbers"
	kms    = "github.com/aws/aws-sdk-go-v2/service/kms"
	ses    = "github.com/aws/aws-sdk-go-v2/service/sesv2"
	sms    = "github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"
	ddb    = "github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Functions is every function of template.yaml with its budget.
var Functions = []Function{
	{Dir: "api", Budget: 18 * MiB, Links: []string{phones, kms, ddb}},
	{Dir: "public-api", Budget: 18 * MiB, Links: []string{phones, ses, sms, ddb}},
	{Dir: "ingest", Budget: 12 * MiB, Links: []string{ddb}},
	{Dir: "retier", Budget: 12 * MiB, Links: []string{ddb}},
	{Dir: "sweep", Budget: 12 * MiB, Links: []string{ddb}},
	{Dir: "dispatch", Budget: 12 * MiB, Links: []string{ses, sms, ddb}},
	{Dir: "delivery", Budget: 12 * MiB, Links: []string{ddb}},
	{Dir: "api-key-authorizer", Budget: 12 * MiB, Links: []string{ddb}},
	{Dir: "web", Budget: 12 * MiB, MethodLookup: "renders /docs with html/template; it links no AWS client, so little is kept"},
}

// Forbidden returns the heavy packages of deps that f must not link.
func (f Function) Forbidden(deps []string) []string {
	var bad []string
	for _, h := range Heavy {
		if slices.Contains(deps, h) && !slices.Contains(f.Links, h) {
			bad = append(bad, h)
		}
	}
	return bad
}

// Limit is the size the check enforces: the budget, or today's ceiling while the
// function is above it.
func (f Function) Limit() int64 {
	if f.Ceiling > 0 {
		return f.Ceiling
	}
	return f.Budget
}

// CheckSize says whether a bootstrap of size bytes is within f's limit, and how it
// stands against the budget.
func (f Function) CheckSize(size int64) (line string, err error) {
	line = fmt.Sprintf("%-10s %6.2f MiB  budget %5.1f MiB", f.Dir, float64(size)/MiB, float64(f.Budget)/MiB)
	switch {
	case size > f.Limit():
		err = fmt.Errorf("functions/%s: bootstrap is %d bytes, above its limit of %d", f.Dir, size, f.Limit())
		line += "  OVER LIMIT"
	case size > f.Budget:
		line += fmt.Sprintf("  over budget by %.2f MiB (issue #13)", float64(size-f.Budget)/MiB)
	default:
		line += "  ok"
	}
	return line, err
}

// Lookup returns the function whose folder is dir.
func Lookup(dir string) (Function, bool) {
	for _, f := range Functions {
		if f.Dir == dir {
			return f, true
		}
	}
	return Function{}, false
}

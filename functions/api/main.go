// Command api serves the staff routes behind the JWT authorizer: customers, tasks,
// transactions, policy, re-tier runs, reports and the audit log. Each area registers its
// routes from its own file; main only builds what they share.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
)

func main() {
	a, e := newApp(context.Background())
	log := a.log
	r := httpx.NewRouter()
	r.Log = log
	for _, register := range areas {
		register(a, r, e)
	}
	boot.Check(log, "configuration", e.Err(), r.Err())
	lambda.Start(r.Serve)
}

// areas are the route groups; each file appends its own in init.
var areas []func(a *app, r *httpx.Router, e *env.Reader)

// Command api serves the staff routes behind the JWT authorizer: customers, tasks,
// transactions, policy, re-tier runs, reports and the audit log. routes.go lists them;
// app.go builds what they share.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/httpx"
)

func main() {
	a, e := newApp(context.Background())
	r := httpx.NewRouter()
	r.Log = a.log
	routes(r, a, e)
	boot.Check(a.log, "configuration", e.Err(), r.Err())
	lambda.Start(r.Serve)
}

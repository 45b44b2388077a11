// Command ingest applies queued transactions (SQS, partial batch responses): each one
// counts once, updates the customer's aggregates and runs the instant tier rules.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tierflow/tierflow/shared/boot"
)

func main() {
	b := boot.Init(context.Background())
	h := &handler{log: b.Log, table: b.Table, policies: b.Table, now: time.Now, zone: b.Zone}
	planner, err := boot.Planner(b.Table, time.Now)
	h.planner = planner
	boot.Check(b.Log, "configuration", b.Env.Err(), err)
	lambda.Start(h.Handle)
}

// Command ingest applies queued transactions (SQS, partial batch responses): each one
// counts once, updates the customer's aggregates and runs the instant tier rules
// (shared/tiering/app.Ingest).
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

func main() {
	b := boot.Init(context.Background())
	// A purchase cancels win-back offers, an instant upgrade congratulates, a product with
	// an effect duration gets its repurchase reminder.
	planner, err := boot.Planner(b.Table, time.Now)
	boot.Check(b.Log, "configuration", b.Env.Err(), err)
	h := &handler{log: b.Log, ingest: &app.Ingest{Log: b.Log, Policies: b.Table, Ledger: b.Table, Planner: planner, Now: time.Now,
		Events: events.Nop{}}} // the EventBridge adapter: keys, in shared/boot
	lambda.Start(h.Handle)
}

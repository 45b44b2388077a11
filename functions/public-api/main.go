// Command public-api serves the unauthenticated routes: lead forms, unsubscribe links,
// survey feedback, double opt-in confirmations, inbound SMS replies and the health
// check. routes.go lists them; main builds what they share.
package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/store"
)

// app holds what every route group shares, built once per cold start.
type app struct {
	log   *slog.Logger
	cfg   aws.Config
	table *store.Table
	sqs   *sqs.Client
	now   func() time.Time
	zone  *time.Location
	// followup is the planner's adapters: leads, opt-outs, survey answers and SMS
	// replies plan follow-up through them.
	followup boot.Followup
	// events is where lead.created and customer.merged go (boot.Events: the bus, or Nop).
	events events.Publisher
}

func main() {
	a, e := newApp(context.Background())
	r := httpx.NewRouter()
	r.Log = a.log
	routes(r, a, e)
	boot.Check(a.log, "configuration", e.Err(), r.Err())
	lambda.Start(r.Serve)
}

func newApp(ctx context.Context) (*app, *env.Reader) {
	b := boot.Init(ctx)
	a, err := wire(b.Log, b.Cfg, b.Table, time.Now, b.Zone)
	boot.Check(b.Log, "follow-up policy", err)
	a.events = boot.Events(b)
	return a, b.Env
}

// wire builds the app over a table with a clock.
func wire(log *slog.Logger, cfg aws.Config, table *store.Table, now func() time.Time, zone *time.Location) (*app, error) {
	f, err := boot.NewFollowup(table, now)
	if err != nil {
		return nil, err
	}
	return &app{log: log, cfg: cfg, table: table, sqs: sqs.NewFromConfig(cfg), now: now, zone: zone, followup: f, events: events.Nop{}}, nil
}

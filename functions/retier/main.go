// Command retier re-tiers every customer: the nightly schedule (or POST /v1/retier)
// starts a run, and the retier queue carries its scan segments through two passes
// (shared/tiering/app.Nightly).
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/queue"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

func main() {
	b := boot.Init(context.Background())
	e := b.Env
	n := &app.Nightly{Log: b.Log, Policies: b.Table, Runs: b.Table, Profiles: b.Table, Models: b.Table,
		Queue: queue.New(sqs.NewFromConfig(b.Cfg), e.Required("RETIER_QUEUE_URL")), Segments: e.Int("RETIER_SEGMENTS", 8),
		Zone: b.Zone, Now: time.Now, Units: tableUnits(b), Events: boot.Events(b),
		CLV: app.CLVConfig{MinCustomers: e.Int("CLV_MIN_CUSTOMERS", 50), MinStoreCustomers: e.Int("CLV_MIN_STORE_CUSTOMERS", 200),
			Disabled: e.Optional("CLV_DISABLED", "") == "true"}}
	var segErr error
	if n.Segments < 1 {
		segErr = fmt.Errorf("RETIER_SEGMENTS=%d: want at least 1", n.Segments)
	}
	// Tier and stage moves, and tier A customers the model newly sees at risk, get follow-up.
	planner, err := boot.Planner(b.Table, time.Now)
	n.Planner = planner
	n.Finished = func(ctx context.Context, sum *app.RunSummary, took time.Duration) {
		logx.Count(ctx, "TierChanges", float64(sum.TierChanges)) // metrics (docs/operations.md)
		logx.Duration(ctx, "NightlyRunDuration", took)
	}
	boot.Check(b.Log, "configuration", e.Err(), segErr, err)
	lambda.Start((&handler{log: b.Log, night: n, layout: b.Table}).Handle)
}

// tableUnits reads the request units the function's table client consumed so far: the
// run's summary carries what its segments cost (lastRun in reports).
func tableUnits(b boot.Base) func() (float64, float64) {
	return func() (float64, float64) {
		u := b.Table.Units.Snapshot()
		return u.Read, u.Write
	}
}

// Command retier re-tiers every customer: the nightly schedule (or POST /v1/retier)
// starts a run, and the retier queue carries its scan segments through two passes.
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/boot"
)

func main() {
	b := boot.Init(context.Background())
	e := b.Env
	r := &Retier{Log: b.Log, Table: b.Table,
		SQS: sqs.NewFromConfig(b.Cfg), QueueURL: e.Required("RETIER_QUEUE_URL"), Segments: e.Int("RETIER_SEGMENTS", 8),
		Zone: b.Zone, Now: time.Now,
		CLV: CLVConfig{MinCustomers: e.Int("CLV_MIN_CUSTOMERS", 50), MinStoreCustomers: e.Int("CLV_MIN_STORE_CUSTOMERS", 200),
			Disabled: e.Optional("CLV_DISABLED", "") == "true"}}
	var segErr error
	if r.Segments < 1 {
		segErr = fmt.Errorf("RETIER_SEGMENTS=%d: want at least 1", r.Segments)
	}
	// Tier and stage moves, and tier A customers the model newly sees at risk, get follow-up.
	planner, err := boot.Planner(b.Table, time.Now)
	r.Planner = planner
	boot.Check(b.Log, "configuration", e.Err(), segErr, err)
	lambda.Start(r.Handle)
}

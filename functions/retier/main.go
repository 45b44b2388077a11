// Command retier re-tiers every customer: the nightly schedule (or POST /v1/retier)
// starts a run, and the retier queue carries its scan segments through two passes.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/awsx"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/store"
)

func main() {
	log := logx.FromEnv()
	cfg, err := awsx.Load(context.Background())
	if err != nil {
		log.Error("cold start", "err", err)
		os.Exit(1)
	}
	e := env.New()
	table := store.New(dynamodb.NewFromConfig(cfg), e.Required("TABLE_NAME"))
	r := &Retier{Log: log, Table: table,
		SQS: sqs.NewFromConfig(cfg), QueueURL: e.Required("RETIER_QUEUE_URL"), Segments: e.Int("RETIER_SEGMENTS", 8),
		Zone: e.Location("BUSINESS_TIME_ZONE", "Asia/Shanghai"), Now: time.Now,
		CLV: CLVConfig{MinCustomers: e.Int("CLV_MIN_CUSTOMERS", 50), MinStoreCustomers: e.Int("CLV_MIN_STORE_CUSTOMERS", 200),
			Disabled: e.Optional("CLV_DISABLED", "") == "true"}}
	if err := e.Err(); err != nil || r.Segments < 1 {
		log.Error("cold start: configuration", "err", err, "segments", r.Segments)
		os.Exit(1)
	}
	// Tier A customers the model newly sees at risk get a retention follow-up.
	planner, err := store.NewPlanner(table, time.Now)
	if err != nil {
		log.Error("cold start: follow-up policy", "err", err)
		os.Exit(1)
	}
	r.Planner = planner
	lambda.Start(r.Handle)
}

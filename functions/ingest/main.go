// Command ingest applies queued transactions (SQS, partial batch responses): each one
// counts once, updates the customer's aggregates and runs the instant tier rules.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tierflow/tierflow/shared/awsx"
	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/store"
)

func main() {
	log := logx.FromEnv()
	cfg, err := awsx.Load(context.Background())
	boot.Check(log, "aws config", err)
	e := env.New()
	table := store.New(dynamodb.NewFromConfig(cfg), e.Required("TABLE_NAME"))
	h := &handler{log: log, table: table, policies: table, now: time.Now,
		zone: e.Location("BUSINESS_TIME_ZONE", "Asia/Shanghai")}
	planner, err := store.NewPlanner(table, time.Now)
	h.planner = planner
	boot.Check(log, "configuration", e.Err(), err)
	lambda.Start(h.Handle)
}

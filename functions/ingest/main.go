// Command ingest applies queued transactions (SQS, partial batch responses): each one
// counts once, updates the customer's aggregates and runs the instant tier rules.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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
	h := &handler{log: log, table: table, policies: table, now: time.Now,
		zone: e.Location("BUSINESS_TIME_ZONE", "Asia/Shanghai")}
	if err := e.Err(); err != nil {
		log.Error("cold start: configuration", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

// Command sweep runs on a schedule: it hands due reminders to the dispatch queue and
// escalates overdue staff tasks (shared/followup/app.Sweeper over the DynamoDB adapter).
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
	"github.com/tierflow/tierflow/shared/followup"
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
	f := store.NewFollowup(table, store.FollowupOptions{SQS: sqs.NewFromConfig(cfg), QueueURL: e.Required("DISPATCH_QUEUE_URL"), Now: time.Now})
	policy, perr := followup.DefaultPolicy()
	cal := &Calendar{Policy: policy, F: f, Planner: f.Planner(policy), Now: time.Now,
		Zone: e.Location("BUSINESS_TIME_ZONE", "Asia/Shanghai"), Segments: e.Int("CALENDAR_SEGMENTS", 4)}
	if err := e.Err(); err != nil || perr != nil {
		log.Error("cold start: configuration", "err", err, "policy", perr)
		os.Exit(1)
	}
	s := &Sweep{Log: log, Sweeper: f.Sweeper(policy), Calendar: cal}
	lambda.Start(s.Handle)
}

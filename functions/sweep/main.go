// Command sweep runs on a schedule: it hands due reminders to the dispatch queue and
// escalates overdue staff tasks (shared/followup/app.Sweeper over the DynamoDB adapter).
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/store"
)

func main() {
	b := boot.Init(context.Background())
	e := b.Env
	f := store.NewFollowup(b.Table, store.FollowupOptions{SQS: sqs.NewFromConfig(b.Cfg), QueueURL: e.Required("DISPATCH_QUEUE_URL"), Now: time.Now})
	policy, perr := followup.DefaultPolicy()
	cal := &Calendar{Policy: policy, F: f, Planner: f.Planner(policy), Now: time.Now,
		Zone: b.Zone, Segments: e.Int("CALENDAR_SEGMENTS", 4)}
	boot.Check(b.Log, "configuration", e.Err(), perr)
	s := &Sweep{Log: b.Log, Sweeper: f.Sweeper(policy), Calendar: cal}
	lambda.Start(s.Handle)
}

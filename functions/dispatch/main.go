// Command dispatch renders and sends one message per reminder id on the dispatch queue
// (shared/followup/app.Dispatcher over the DynamoDB adapter and shared/notify).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tierflow/tierflow/shared/awsx"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/message"
	"github.com/tierflow/tierflow/shared/notify"
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
	f := store.NewFollowup(table, store.FollowupOptions{PublicBaseURL: e.Required("PUBLIC_BASE_URL"), Now: time.Now})
	sender, serr := notify.FromEnv(cfg, e)
	policy, perr := followup.DefaultPolicy()
	catalog, cerr := message.Default()
	if err := e.Err(); err != nil || serr != nil || perr != nil || cerr != nil {
		log.Error("cold start: configuration", "err", err, "sender", serr, "policy", perr, "catalog", cerr)
		os.Exit(1)
	}
	d := &Dispatch{Log: log, Dispatcher: f.Dispatcher(policy, catalog, sender)}
	lambda.Start(d.Handle)
}

// Command public-api serves the unauthenticated routes: lead forms, unsubscribe links,
// survey feedback, inbound SMS replies and the health check.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/awsx"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
)

func main() {
	log := logx.FromEnv()
	ctx := context.Background()
	cfg, err := awsx.Load(ctx)
	if err != nil {
		log.Error("cold start", "err", err)
		os.Exit(1)
	}
	e := env.New()
	health := healthChecker{
		table:  e.Required("TABLE_NAME"),
		queues: []string{e.Required("INGEST_QUEUE_URL"), e.Required("DISPATCH_QUEUE_URL"), e.Required("RETIER_QUEUE_URL")},
		ddb:    dynamodb.NewFromConfig(cfg),
		sqs:    sqs.NewFromConfig(cfg),
		ses:    sesv2.NewFromConfig(cfg),
	}
	r := httpx.NewRouter()
	r.Log = log
	r.CORS = &httpx.CORS{AllowOrigins: e.List("CORS_ALLOW_ORIGINS")}
	r.Handle("GET /v1/health", health.handle)
	if err := e.Err(); err != nil {
		log.Error("cold start: configuration", "err", err)
		os.Exit(1)
	}
	if err := r.Err(); err != nil {
		log.Error("cold start: routes", "err", err)
		os.Exit(1)
	}
	lambda.Start(r.Serve)
}

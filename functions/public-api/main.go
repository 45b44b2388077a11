// Command public-api serves the unauthenticated routes: lead forms, unsubscribe links,
// survey feedback, inbound SMS replies and the health check. Each area registers its
// routes from its own file; main only builds what they share.
package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/store"
)

// app holds what every route group shares, built once per cold start.
type app struct {
	log   *slog.Logger
	cfg   aws.Config
	table *store.Table
	ddb   *dynamodb.Client
	sqs   *sqs.Client
	now   func() time.Time
	zone  *time.Location
}

// areas are the route groups; each file appends its own in init.
var areas []func(a *app, r *httpx.Router, e *env.Reader)

func main() {
	a, e := newApp(context.Background())
	log := a.log
	r := httpx.NewRouter()
	r.Log = log
	for _, register := range areas {
		register(a, r, e)
	}
	boot.Check(log, "configuration", e.Err(), r.Err())
	lambda.Start(r.Serve)
}

func newApp(ctx context.Context) (*app, *env.Reader) {
	b := boot.Init(ctx)
	return &app{
		log:   b.Log,
		cfg:   b.Cfg,
		ddb:   b.Table.DB,
		table: b.Table,
		sqs:   sqs.NewFromConfig(b.Cfg),
		now:   time.Now,
		zone:  b.Zone,
	}, b.Env
}

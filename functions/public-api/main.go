// Command public-api serves the unauthenticated routes: lead forms, unsubscribe links,
// survey feedback, inbound SMS replies and the health check. Each area registers its
// routes from its own file; main only builds what they share.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/awsx"
	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
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
	log := logx.FromEnv()
	a, e, err := newApp(context.Background(), log)
	boot.Check(log, "aws config", err)
	r := httpx.NewRouter()
	r.Log = log
	r.CORS = &httpx.CORS{AllowOrigins: e.List("CORS_ALLOW_ORIGINS")}
	for _, register := range areas {
		register(a, r, e)
	}
	boot.Check(log, "configuration", e.Err(), r.Err())
	lambda.Start(r.Serve)
}

func newApp(ctx context.Context, log *slog.Logger) (*app, *env.Reader, error) {
	cfg, err := awsx.Load(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("public-api: %w", err)
	}
	e := env.New()
	ddb := dynamodb.NewFromConfig(cfg)
	return &app{
		log:   log,
		cfg:   cfg,
		ddb:   ddb,
		table: store.New(ddb, e.Required("TABLE_NAME")),
		sqs:   sqs.NewFromConfig(cfg),
		now:   time.Now,
		zone:  e.Location("BUSINESS_TIME_ZONE", "Asia/Shanghai"),
	}, e, nil
}

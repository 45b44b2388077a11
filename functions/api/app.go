package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/awsx"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/store"
)

// app holds what every route group shares, built once per cold start.
type app struct {
	log   *slog.Logger
	cfg   aws.Config
	table *store.Table
	sqs   *sqs.Client
	now   func() time.Time
	// zone is the business time zone: reports and "today" are computed in it.
	zone *time.Location
}

func newApp(ctx context.Context, log *slog.Logger) (*app, *env.Reader, error) {
	cfg, err := awsx.Load(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("api: %w", err)
	}
	e := env.New()
	return &app{
		log:   log,
		cfg:   cfg,
		table: store.New(dynamodb.NewFromConfig(cfg), e.Required("TABLE_NAME")),
		sqs:   sqs.NewFromConfig(cfg),
		now:   time.Now,
		zone:  e.Location("BUSINESS_TIME_ZONE", "Asia/Shanghai"),
	}, e, nil
}

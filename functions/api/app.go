package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/boot"
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

func newApp(ctx context.Context) (*app, *env.Reader) {
	b := boot.Init(ctx)
	return &app{
		log:   b.Log,
		cfg:   b.Cfg,
		table: b.Table,
		sqs:   sqs.NewFromConfig(b.Cfg),
		now:   time.Now,
		zone:  b.Zone,
	}, b.Env
}

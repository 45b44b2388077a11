package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/seal"
	"github.com/tierflow/tierflow/shared/store"
)

// This file is the only one of the package that holds the table: it builds the access
// layer and the store's staff desk from it, and hands the route areas those. A route
// loads what a request names through acc (shared/access) and reads or writes it through
// desk with the grant acc returned; wiring_test.go fails if another file reaches the table.

// app holds what every route group shares, built once per cold start.
type app struct {
	log *slog.Logger
	cfg aws.Config
	sqs *sqs.Client
	now func() time.Time
	// zone is the business time zone: reports and "today" are computed in it.
	zone     *time.Location
	acc      *access.Layer
	desk     *store.Staff
	policies policyStore
	limits   limiter
}

func newApp(ctx context.Context) (*app, *env.Reader) {
	b := boot.Init(ctx)
	var sealer *seal.Sealer
	// Without a key the sensitive section cannot be opened or written; the rest works.
	if w, err := seal.WrapperFor(b.Cfg, b.Env.Optional("SEAL_KEY_ID", "")); err == nil {
		sealer = &seal.Sealer{Wrapper: w}
	} else {
		b.Log.Warn("sensitive section unavailable", "err", err)
	}
	a, err := wire(b.Log, b.Cfg, b.Table, sqs.NewFromConfig(b.Cfg), sealer, time.Now, b.Zone)
	boot.Check(b.Log, "follow-up policy", err)
	return a, b.Env
}

// wire builds the app over a table: the access layer on the store's ports, the staff
// desk, and the two non-customer ports (policy, rate limits).
func wire(log *slog.Logger, cfg aws.Config, table *store.Table, q *sqs.Client, sealer *seal.Sealer, now func() time.Time, zone *time.Location) (*app, error) {
	policy, err := followup.DefaultPolicy()
	if err != nil {
		return nil, err
	}
	f := store.NewFollowup(table, store.FollowupOptions{Now: now})
	acc := access.New(access.Ports{Customers: table, Tasks: f, Audit: table, Txn: table}, now)
	return &app{log: log, cfg: cfg, sqs: q, now: now, zone: zone, acc: acc,
		desk: store.NewStaff(table, f, policy, sealer), policies: table, limits: table}, nil
}

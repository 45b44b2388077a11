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
	"github.com/tierflow/tierflow/shared/seal"
	"github.com/tierflow/tierflow/shared/seal/sealkms"
	"github.com/tierflow/tierflow/shared/store"
)

// This file is the only one of the package that holds the table and the store's
// follow-up adapters: it builds the access layer, the follow-up services and the store's
// staff desk from them, and hands routes.go those. A route loads what a request names
// through acc (shared/access) and reads or writes it through desk with the grant acc
// returned; wiring_test.go fails if another file reaches the table or an adapter.

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
	keys     keyStore
	// tallies are the report counts the messaging path keeps (msg, followup, feedback).
	tallies map[string]tallyReader
	// directory is the staff directory (GET /v1/staff).
	directory staffLister
}

func newApp(ctx context.Context) (*app, *env.Reader) {
	b := boot.Init(ctx)
	var sealer *seal.Sealer
	// Without a key the sensitive section cannot be opened or written; the rest works.
	if w, err := sealkms.WrapperFor(b.Cfg, b.Env.Optional("SEAL_KEY_ID", "")); err == nil {
		sealer = &seal.Sealer{Wrapper: w}
	} else {
		b.Log.Warn("sensitive section unavailable", "err", err)
	}
	a, err := wire(b.Log, b.Cfg, b.Table, sqs.NewFromConfig(b.Cfg), sealer, time.Now, b.Zone)
	boot.Check(b.Log, "follow-up policy", err)
	return a, b.Env
}

// wire builds the app over a table: the access layer on the store's ports, the
// follow-up services staff requests set in motion, the staff desk over both, and the two
// non-customer ports (policy, rate limits).
func wire(log *slog.Logger, cfg aws.Config, table *store.Table, q *sqs.Client, sealer *seal.Sealer, now func() time.Time, zone *time.Location) (*app, error) {
	f, err := boot.NewFollowup(table, now)
	if err != nil {
		return nil, err
	}
	planner := f.Planner()
	tasks := f.Tasks() // counts the follow-up report as tasks are done
	acc := access.New(access.Ports{Customers: table, Tasks: f.Reminders, Audit: table, Txn: table}, now)
	desk := store.NewStaff(table, store.StaffDeps{Tasks: tasks, Planner: planner, Reminders: f.Reminders, Directory: f.Staff, Sealer: sealer})
	tallies := map[string]tallyReader{}
	for _, r := range []string{"msg", "followup", "feedback"} {
		tallies[r] = store.NewTallies(table, r)
	}
	return &app{log: log, cfg: cfg, sqs: q, now: now, zone: zone, acc: acc, desk: desk, policies: table, limits: table, keys: table,
		tallies: tallies, directory: f.Staff}, nil
}

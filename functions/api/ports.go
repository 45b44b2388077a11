package main

import (
	"context"
	"time"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/apikey"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/tiering"
)

// policyStore is the business-wide tier policy: not customer data, read and changed by
// admins (who may change it is access.ChangePolicy).
type policyStore interface {
	CurrentPolicy(ctx context.Context) (*tiering.Policy, bool, error)
	PolicyHistory(ctx context.Context) ([]store.PolicyVersion, error)
	PolicyAt(ctx context.Context, version int) (store.PolicyVersion, bool, error)
	PolicyVersions(ctx context.Context) ([]store.PolicyVersion, error)
	PutPolicy(ctx context.Context, p *tiering.Policy, expected int, by string, now time.Time) (int, error)
}

// keyStore is the business's API keys (store.Table); who may manage which is
// access.ManageAPIKeys and access.MayManageKey.
type keyStore interface {
	APIKeys(ctx context.Context) ([]apikey.Key, error)
	APIKey(ctx context.Context, id string) (apikey.Key, error)
	CreateAPIKey(ctx context.Context, k apikey.Key, s apikey.Secret) error
	RotateAPIKey(ctx context.Context, id string, s apikey.Secret, now time.Time) (apikey.Key, error)
	RevokeAPIKey(ctx context.Context, id string) error
}

// limiter counts what a staff member may do only so often (store.Allow).
type limiter interface {
	Allow(ctx context.Context, rl store.RateLimit, subject string, now time.Time) (bool, time.Duration, error)
	Exhausted(ctx context.Context, rl store.RateLimit, subject string, now time.Time) (bool, time.Duration, error)
}

// referralDesk reads the referral reward ledger the write path keeps at ingest, for the
// scope the access layer resolved (store.Staff; store.ErrNoReferralLedger when the table
// keeps none).
type referralDesk interface {
	Referrals(ctx context.Context, sc access.Scope) ([]store.ReferralRow, error)
}

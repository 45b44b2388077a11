// Package boot is what every function's main does at cold start: stop with one clear
// log line when the configuration or the wiring is wrong, instead of serving requests
// that would fail one by one; and the wiring several functions share exactly (the
// follow-up planner over the store's adapters, followup.go).
package boot

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/awsx"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/secrets"
	"github.com/tierflow/tierflow/shared/store"
)

// exit is replaced in tests.
var exit = os.Exit

// Check logs every non-nil error under what and exits with status 1 if there is one.
func Check(log *slog.Logger, what string, errs ...error) {
	if err := errors.Join(errs...); err != nil {
		log.Error("cold start failed", "stage", what, "err", err)
		exit(1)
	}
}

// Base is what every function builds first, once per cold start.
type Base struct {
	Log   *slog.Logger
	Cfg   aws.Config
	Env   *env.Reader // read the function's variables through it; Check(Env.Err()) at the end
	Table *store.Table
	Zone  *time.Location // the business time zone
}

// Init builds the SDK configuration, reads the secrets (shared/secrets: SSM in AWS, plain
// values from the local runtime), builds the redacting logger with the shared LOG_HASH_KEY,
// the environment reader (secrets answered from what was read, never from a plain
// variable) and the table; it exits (after one log line) if the SDK configuration or a
// secret cannot be read. MAX_AGENT_STORES, the cap on an agent token's stores, is applied
// to shared/auth here, where every staff principal is built.
func Init(ctx context.Context) Base {
	log := logx.FromEnv(nil) // until LOG_HASH_KEY is read; only failures are logged with it
	cfg, err := awsx.Load(ctx)
	Check(log, "aws config", err)
	sec, err := secrets.Load(ctx, func() secrets.Getter { return secrets.NewSSM(cfg) }, os.LookupEnv)
	Check(log, "secrets", err)
	var hashKey []byte
	if v, ok := sec[secrets.LogHashKey]; ok {
		hashKey, err = logx.ParseHashKey(v)
		Check(log, "secrets", err)
	}
	log = logx.FromEnv(hashKey)
	if hashKey == nil {
		log.Warn("LOG_HASH_KEY is not configured: hashed values in logs correlate within this process only")
	}
	e := env.New().WithSecrets(secrets.Names, sec)
	if err := auth.SetMaxAgentStores(e.Int("MAX_AGENT_STORES", auth.DefaultMaxAgentStores)); err != nil {
		Check(log, "configuration", err)
	}
	return Base{
		Log:   log,
		Cfg:   cfg,
		Env:   e,
		Table: store.New(dynamodb.NewFromConfig(cfg), e.Required("TABLE_NAME")),
		Zone:  e.Location("BUSINESS_TIME_ZONE", "Asia/Shanghai"),
	}
}

// Package boot is what every function's main does at cold start: stop with one clear
// log line when the configuration or the wiring is wrong, instead of serving requests
// that would fail one by one.
package boot

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tierflow/tierflow/shared/awsx"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/logx"
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

// Init builds the redacting logger, the SDK configuration, the environment reader and the
// table; it exits (after one log line) if the SDK configuration cannot be loaded.
func Init(ctx context.Context) Base {
	log := logx.FromEnv()
	cfg, err := awsx.Load(ctx)
	Check(log, "aws config", err)
	e := env.New()
	return Base{
		Log:   log,
		Cfg:   cfg,
		Env:   e,
		Table: store.New(dynamodb.NewFromConfig(cfg), e.Required("TABLE_NAME")),
		Zone:  e.Location("BUSINESS_TIME_ZONE", "Asia/Shanghai"),
	}
}

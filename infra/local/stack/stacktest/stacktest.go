// Package stacktest runs a test binary against one whole local stack: the same function
// binaries that deploy, built from this checkout, behind the emulated API Gateway, event
// source mappings and (manually fired) schedules, on the real emulators. A stack that
// cannot start fails the run; nothing is skipped.
package stacktest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tierflow/tierflow/infra/local/gateway"
	"github.com/tierflow/tierflow/infra/local/stack"
)

// Config is what a test binary's stack differs in.
type Config struct {
	Params  map[string]string // template parameter overrides
	Secrets map[string]string // secret values by name (SMS_INBOUND_SECRET, ...), see stack.Options
	// DynamoDBProxy puts the caller's proxy (a request-unit meter) between the functions
	// and DynamoDB, see stack.Options.
	DynamoDBProxy func(endpoint string) string
}

// Main starts the stack with the given parameter overrides, runs the tests and stops
// it. Use it from TestMain: os.Exit(stacktest.Main(m, nil, &st)).
func Main(m *testing.M, params map[string]string, st **stack.Stack) int {
	return MainWith(m, Config{Params: params}, st)
}

// MainWith is Main with secrets as well: os.Exit(stacktest.MainWith(m, cfg, &st)).
func MainWith(m *testing.M, cfg Config, st **stack.Stack) int {
	state, err := os.MkdirTemp("", "tierflow-stack-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(state)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	s, err := stack.Start(ctx, stack.Options{Port: -1, StateDir: state, BinDir: filepath.Join(state, "bin"),
		Build: true, NoSchedules: true, Params: cfg.Params, Secrets: cfg.Secrets, DynamoDBProxy: cfg.DynamoDBProxy})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "stacktest: the local stack did not start: %v\n", err)
		return 1
	}
	defer s.Stop()
	*st = s
	return m.Run()
}

// AdminKey is the secret the stack's /_local routes that act (invoke, schedules, token)
// require in the gateway.KeyHeader header, as the CLI reads it from .local/admin.key.
func AdminKey(st *stack.Stack) string { return st.AdminKey }

// AdminRequest builds a request to the stack's /_local admin API that carries the key,
// as `make invoke` sends it.
func AdminRequest(ctx context.Context, st *stack.Stack, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, st.URL+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set(gateway.KeyHeader, st.AdminKey)
	return req, nil
}

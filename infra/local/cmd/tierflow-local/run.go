package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tierflow/tierflow/infra/local/seed"
	"github.com/tierflow/tierflow/infra/local/stack"
)

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	port := fs.Int("port", 0, "API port (default $TIERFLOW_PORT or 3000)")
	quiet := fs.Bool("quiet", false, "do not copy function logs to the terminal")
	noSchedules := fs.Bool("no-schedules", false, "do not fire schedules on their own (fire them with invoke -schedule)")
	verbose := fs.Bool("v", false, "log the runtime's own events")
	build := fs.Bool("build", false, "build every function's bootstrap for this machine first (else make build-local does)")
	demo := fs.Bool("seed", false, "fill the stack with the synthetic demo data set through its own API")
	demoSize := fs.Int("seed-customers", 200, "size of the synthetic demo base")
	_ = fs.Parse(args)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	fmt.Fprintln(os.Stderr, "starting tierflow locally (emulators, functions, API)...")
	st, err := stack.Start(ctx, stack.Options{Port: *port, Build: *build, ConsoleLogs: !*quiet, NoSchedules: *noSchedules, Logger: logger})
	if err != nil {
		return err
	}
	if *demo {
		if err := seedDemo(ctx, st, *demoSize); err != nil {
			st.Stop()
			return err
		}
	}
	pos, err := demoKey(ctx, st)
	if err != nil {
		st.Stop()
		return err
	}
	fmt.Printf(`
tierflow is running (ready in %s)
  API             %s        try: curl %s/v1/health
  Lead form       %s/
  Staff app       %s        sign in: open "%s#token=$(make -s token ROLE=admin STORE='*')"
  Email outbox    %s
  SMS outbox      %s/_local/sms
  Staff token     make token ROLE=agent STORE=sh-01   (roles: admin, clinician, agent)
  Demo POS key    %s
                  (store sh-01; transactions:write, customers:read; README "A POS posting a sale")
  Status          %s/_local/status
  Logs            %s
Ctrl-C stops everything.
`, st.StartedIn.Round(1e6), st.URL, st.URL, st.URL, st.AppURL(), st.AppURL(), st.Emulators.OutboxURL(), st.URL, pos.Secret, st.URL, st.LogDir)

	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "\nstopping...")
	case err := <-st.Emulators.Failed():
		fmt.Fprintln(os.Stderr, "an emulator stopped on its own:", err)
	}
	if err := st.Stop(); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	fmt.Fprintln(os.Stderr, "stopped; nothing left running.")
	return nil
}

// demoKey makes the key a POS of store sh-01 would hold, through the API as an admin
// would, so that the README's curl works against the running stack. A new key each
// start: the local table does not outlive the stack.
func demoKey(ctx context.Context, st *stack.Stack) (seed.APIKey, error) {
	tok, err := st.MintToken("admin", []string{"sh-01"}, "demo-admin", time.Hour)
	if err != nil {
		return seed.APIKey{}, fmt.Errorf("demo key: %w", err)
	}
	return seed.CreateAPIKey(ctx, st.URL, tok, "demo POS (make run)", []string{"sh-01"},
		[]string{"transactions:write", "customers:read"}, 0)
}

// seedDemo loads the synthetic demo base through the API and waits for its first
// re-tier run, so that the first page a user opens already has tiers and tasks.
func seedDemo(ctx context.Context, st *stack.Stack, customers int) error {
	start := time.Now()
	fmt.Fprintf(os.Stderr, "seeding %d synthetic customers through the API...\n", customers)
	tok, err := st.MintToken("admin", []string{"*"}, "demo-seed", 2*time.Hour)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	ingest, _ := st.Resources.Ref("IngestQueue")
	res, err := seed.Run(ctx, seed.Options{
		URL: st.URL, Token: tok, Customers: customers, Seed: 1,
		IngestQueueURL: ingest, SQS: st.Emulators.SQSClient(), Progress: os.Stderr,
	})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(os.Stderr, "demo data: %d customers (%d leads), %d transactions, re-tier %s %s, in %s\n",
		res.Customers, res.Leads, res.Transactions, res.RunID, res.RunStatus, time.Since(start).Round(time.Millisecond))
	return nil
}

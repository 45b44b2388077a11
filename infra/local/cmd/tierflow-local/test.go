package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tierflow/tierflow/infra/local/testenv"
)

// test runs a command against one set of emulators started for it (`make test` runs
// `go test ./...` this way), or, without a command, prints the variables that point
// test binaries at the emulators and keeps them running until Ctrl-C.
func test(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) > 0 {
		err := testenv.Run(ctx, testenv.Options{}, args)
		var code testenv.ExitCode
		if errors.As(err, &code) {
			return exitCode(code)
		}
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, err := testenv.Start(ctx, testenv.Options{})
	if err != nil {
		return err
	}
	defer env.Stop()
	fmt.Print(env.Exports())
	fmt.Fprintln(os.Stderr, "# paste these lines into another shell, then `go test ./shared/store` there; Ctrl-C here stops the emulators")
	select {
	case <-ctx.Done():
	case err := <-env.Emulators.Failed():
		return fmt.Errorf("an emulator stopped on its own: %w", err)
	}
	if err := env.Stop(); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	return nil
}

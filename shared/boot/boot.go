// Package boot is what every function's main does at cold start: stop with one clear
// log line when the configuration or the wiring is wrong, instead of serving requests
// that would fail one by one.
package boot

import (
	"errors"
	"log/slog"
	"os"
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

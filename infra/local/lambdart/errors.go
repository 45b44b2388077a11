package lambdart

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Sentinel errors callers branch on (errors.Is); they are wrapped by *RuntimeError.
var (
	ErrTimeout = errors.New("function timed out")
	ErrCrashed = errors.New("function process exited")
	ErrInit    = errors.New("function failed to initialise")
	ErrStopped = errors.New("function pool stopped")
)

// FunctionError is an error the function reported itself through the Runtime API: a
// returned error or a recovered panic. The process lives on (aws-lambda-go exits by itself
// after a panic, which the pool notices and replaces).
type FunctionError struct {
	Type       string          `json:"errorType"`
	Message    string          `json:"errorMessage"`
	StackTrace json.RawMessage `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string { return fmt.Sprintf("%s: %s", e.Type, e.Message) }

// RuntimeError is a failure of the sandbox rather than of the handler: the process
// crashed, timed out or never became ready. Type uses Lambda's own names
// (Sandbox.Timedout, Runtime.ExitError, Runtime.InitError).
type RuntimeError struct {
	Type    string
	Message string
	cause   error
}

func (e *RuntimeError) Error() string { return fmt.Sprintf("%s: %s", e.Type, e.Message) }
func (e *RuntimeError) Unwrap() error { return e.cause }

// ErrorType returns the Lambda error type of err ("" for nil), for callers that report it
// (the gateway's problem+json, the event source mapping's logs).
func ErrorType(err error) string {
	var fe *FunctionError
	var re *RuntimeError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &fe):
		return fe.Type
	case errors.As(err, &re):
		return re.Type
	}
	return "Unknown"
}

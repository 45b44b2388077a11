package httpx

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// FieldError names one field at fault and why, in words a form user can act on.
// Field is empty when the fault is the request as a whole (e.g. malformed JSON).
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// FieldErrorer is implemented by validation errors of domain packages, which must not
// import httpx: any error that can list its fields maps to 400 with those fields.
type FieldErrorer interface {
	error
	EachField(func(field, reason string))
}

// Error is an error with an HTTP meaning. Handlers build them with the constructors below
// and return them (wrapped or not); Problem maps them to a response.
type Error struct {
	Status     int
	Slug       string // last part of the problem type URI, stable for clients to branch on
	Detail     string
	Fields     []FieldError
	RetryAfter time.Duration // 429 only
	Allow      []string      // 405 only
	cause      error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", e.Status, e.Slug)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Reason)
	}
	if e.cause != nil {
		b.WriteString(": " + e.cause.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.cause }

// Wrap keeps cause for logs and errors.Is while the client sees only e's own detail.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// BadRequest reports one field at fault.
func BadRequest(field, reason string) *Error {
	return &Error{Status: http.StatusBadRequest, Slug: "invalid-request",
		Detail: "The request has fields that cannot be accepted.", Fields: []FieldError{{field, reason}}}
}

// Invalid reports several fields at fault at once, so a form user fixes them in one go.
func Invalid(fields ...FieldError) *Error {
	return &Error{Status: http.StatusBadRequest, Slug: "invalid-request",
		Detail: "The request has fields that cannot be accepted.", Fields: fields}
}

// NotFound says the resource does not exist or is not visible to the caller; the two are
// deliberately indistinguishable.
func NotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Slug: "not-found", Detail: what + " not found."}
}

// Gone says the resource existed and no longer serves (an expired or used link).
func Gone(detail string) *Error {
	return &Error{Status: http.StatusGone, Slug: "gone", Detail: detail}
}

// Conflict reports a state clash, e.g. a write that lost a race.
func Conflict(detail string) *Error {
	return &Error{Status: http.StatusConflict, Slug: "conflict", Detail: detail}
}

// TooManyRequests tells the client when to come back; the response carries Retry-After.
func TooManyRequests(retryAfter time.Duration) *Error {
	return &Error{Status: http.StatusTooManyRequests, Slug: "rate-limited",
		Detail: "Too many requests; try again later.", RetryAfter: retryAfter}
}

// Unauthorized means the caller is not authenticated (no, expired or forged token).
func Unauthorized(detail string) *Error {
	return &Error{Status: http.StatusUnauthorized, Slug: "unauthorized", Detail: detail}
}

// Forbidden means the caller is known but may not do this.
func Forbidden(detail string) *Error {
	return &Error{Status: http.StatusForbidden, Slug: "forbidden", Detail: detail}
}

// PayloadTooLarge reports a body over the limit.
func PayloadTooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Slug: "payload-too-large",
		Detail: fmt.Sprintf("The request body is larger than %d bytes.", limit)}
}

// UnsupportedMediaType names the content types that are accepted.
func UnsupportedMediaType(accepted ...string) *Error {
	return &Error{Status: http.StatusUnsupportedMediaType, Slug: "unsupported-media-type",
		Detail: "Content-Type must be one of: " + strings.Join(accepted, ", ") + "."}
}

// MethodNotAllowed lists the methods the path does accept.
func MethodNotAllowed(allow ...string) *Error {
	return &Error{Status: http.StatusMethodNotAllowed, Slug: "method-not-allowed",
		Detail: "This path does not accept the method.", Allow: allow}
}

// StatusOf returns the status an error will be answered with, for logs and metrics;
// no error is 200.
func StatusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	return classify(err).Status
}

// classify is the ONE place an error becomes an HTTP status. Anything not recognised is a
// 500 whose detail says nothing about internals.
func classify(err error) *Error {
	var he *Error
	if errors.As(err, &he) {
		return he
	}
	var fe FieldErrorer
	if errors.As(err, &fe) {
		var fields []FieldError
		fe.EachField(func(f, r string) { fields = append(fields, FieldError{f, r}) })
		return Invalid(fields...).Wrap(err)
	}
	return &Error{Status: http.StatusInternalServerError, Slug: "internal",
		Detail: "Something went wrong on our side; the request may be retried.", cause: err}
}

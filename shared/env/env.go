// Package env reads function configuration from the environment variables declared in
// template.yaml, collecting every missing one into a single error so that a
// misconfigured deployment says everything that is wrong at cold start.
package env

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Reader accumulates errors while reading variables.
type Reader struct {
	lookup func(string) (string, bool)
	errs   []error
}

// New reads from the process environment.
func New() *Reader { return &Reader{lookup: os.LookupEnv} }

// FromMap reads from m; for tests.
func FromMap(m map[string]string) *Reader {
	return &Reader{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

// WithSecrets returns a reader that answers each of names from values only, never from
// the process environment: a secret is whatever shared/secrets resolved for it (from SSM,
// or from the local runtime), and absent otherwise.
func (r *Reader) WithSecrets(names []string, values map[string]string) *Reader {
	hidden := make(map[string]bool, len(names))
	for _, n := range names {
		hidden[n] = true
	}
	next := r.lookup
	return &Reader{errs: r.errs, lookup: func(k string) (string, bool) {
		if hidden[k] {
			v, ok := values[k]
			return v, ok
		}
		return next(k)
	}}
}

// Required returns the variable or records that it is missing.
func (r *Reader) Required(key string) string {
	v, ok := r.lookup(key)
	if !ok || strings.TrimSpace(v) == "" {
		r.errs = append(r.errs, fmt.Errorf("%s is not set", key))
		return ""
	}
	return v
}

// Optional returns the variable or def.
func (r *Reader) Optional(key, def string) string {
	if v, ok := r.lookup(key); ok && v != "" {
		return v
	}
	return def
}

// List splits a comma-separated variable, dropping blanks.
func (r *Reader) List(key string) []string {
	var out []string
	for _, p := range strings.Split(r.Optional(key, ""), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Int returns an integer variable or def.
func (r *Reader) Int(key string, def int) int {
	v := r.Optional(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s=%q is not an integer", key, v))
		return def
	}
	return n
}

// Location returns a time zone variable or def.
func (r *Reader) Location(key, def string) *time.Location {
	name := r.Optional(key, def)
	loc, err := time.LoadLocation(name)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s=%q is not an IANA time zone: %w", key, name, err))
		return time.UTC
	}
	return loc
}

// Err reports every problem met so far.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

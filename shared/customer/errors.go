package customer

import (
	"errors"
	"strings"
)

// Sentinel errors callers branch on.
var (
	// ErrSpam marks a submission a bot made (the honeypot was filled). Handlers answer it
	// like a success so the bot learns nothing, and store nothing.
	ErrSpam = errors.New("customer: submission looks automated")
	// ErrErased marks a profile whose personal data was erased; it takes no new data.
	ErrErased = errors.New("customer: profile was erased")
)

// FieldError is one field at fault.
type FieldError struct {
	Field  string
	Reason string
}

// FieldErrors collects every field at fault so a form user can fix them all at once.
// It satisfies httpx.FieldErrorer without importing it.
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, f := range fe {
		parts[i] = f.Field + ": " + f.Reason
	}
	return "invalid fields: " + strings.Join(parts, "; ")
}

// EachField lists the fields at fault.
func (fe FieldErrors) EachField(f func(field, reason string)) {
	for _, e := range fe {
		f(e.Field, e.Reason)
	}
}

// Has reports whether field is among the errors.
func (fe FieldErrors) Has(field string) bool {
	for _, e := range fe {
		if e.Field == field {
			return true
		}
	}
	return false
}

func (fe *FieldErrors) add(field, reason string) { *fe = append(*fe, FieldError{field, reason}) }

func (fe FieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return fe
}

package logx

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

type ctxKey struct{}

// WithRequestID returns a context whose log lines carry request_id.
func WithRequestID(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return With(ctx, slog.String("request_id", id))
}

// With returns a context whose log lines carry attrs in addition to those already there.
func With(ctx context.Context, attrs ...slog.Attr) context.Context {
	prev, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	next := make([]slog.Attr, 0, len(prev)+len(attrs))
	next = append(append(next, prev...), attrs...)
	return context.WithValue(ctx, ctxKey{}, next)
}

// Options configure New.
type Options struct {
	Level slog.Leveler
	// HashKey keys the hashes that stand in for redacted values. Share it across functions
	// to correlate one person's lines across them; without one a random key is drawn, so
	// hashes only correlate within one process.
	HashKey []byte
	// Function names the emitting function on every line.
	Function string
}

// New returns a logger that writes redacted JSON lines to w.
func New(w io.Writer, o Options) *slog.Logger {
	key := o.HashKey
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand.Read never fails on supported platforms
	}
	var h slog.Handler = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: o.Level})
	if o.Function != "" {
		h = h.WithAttrs([]slog.Attr{slog.String("function", o.Function)})
	}
	return slog.New(&Handler{next: h, r: NewRedactor(key)})
}

// MinHashKeyBytes is the shortest LOG_HASH_KEY accepted.
const MinHashKeyBytes = 16

// FromEnv builds the logger a Lambda uses: LOG_LEVEL (DEBUG/INFO/WARN/ERROR) and
// AWS_LAMBDA_FUNCTION_NAME, writing to stdout, with hashes keyed by hashKey (LOG_HASH_KEY,
// which shared/boot reads from SSM; nil draws a random key, so hashes then correlate
// within this process only). It also installs it as slog's default so stray slog calls
// are redacted too.
func FromEnv(hashKey []byte) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.TrimSpace(os.Getenv("LOG_LEVEL")))); err != nil {
		lvl = slog.LevelInfo
	}
	l := New(os.Stdout, Options{Level: lvl, HashKey: hashKey, Function: os.Getenv("AWS_LAMBDA_FUNCTION_NAME")})
	slog.SetDefault(l)
	return l
}

// ParseHashKey decodes LOG_HASH_KEY (standard base64 of at least MinHashKeyBytes bytes).
func ParseHashKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("LOG_HASH_KEY is not standard base64: %w", err)
	}
	if len(key) < MinHashKeyBytes {
		return nil, fmt.Errorf("LOG_HASH_KEY is %d bytes, want at least %d (openssl rand -base64 32)", len(key), MinHashKeyBytes)
	}
	return key, nil
}

// Handler redacts every record before handing it to the JSON encoder.
type Handler struct {
	next slog.Handler
	r    *Redactor
}

func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *Handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.Text(rec.Message), rec.PC)
	out.AddAttrs(lambdaAttrs(ctx)...)
	if attrs, ok := ctx.Value(ctxKey{}).([]slog.Attr); ok {
		for _, a := range attrs {
			out.AddAttrs(h.r.Attr(a))
		}
	}
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.r.Attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.r.Attr(a)
	}
	return &Handler{next: h.next.WithAttrs(red), r: h.r}
}

func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), r: h.r}
}

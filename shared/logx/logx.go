package logx

import (
	"context"
	"crypto/rand"
	"encoding/base64"
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

// FromEnv builds the logger a Lambda uses: LOG_LEVEL (DEBUG/INFO/WARN/ERROR),
// LOG_HASH_KEY (base64) and AWS_LAMBDA_FUNCTION_NAME, writing to stdout. It also installs
// it as slog's default so stray slog calls are redacted too.
func FromEnv() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.TrimSpace(os.Getenv("LOG_LEVEL")))); err != nil {
		lvl = slog.LevelInfo
	}
	key, _ := base64.StdEncoding.DecodeString(os.Getenv("LOG_HASH_KEY"))
	l := New(os.Stdout, Options{Level: lvl, HashKey: key, Function: os.Getenv("AWS_LAMBDA_FUNCTION_NAME")})
	slog.SetDefault(l)
	return l
}

// Handler redacts every record before handing it to the JSON encoder.
type Handler struct {
	next slog.Handler
	r    *Redactor
}

func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *Handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.Text(rec.Message), rec.PC)
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

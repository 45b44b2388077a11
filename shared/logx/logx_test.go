package logx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/tierflow/tierflow/shared/logx"
)

// Recognisable planted values: if any of these appears in output, redaction failed.
const (
	plantPhone   = "13800138000"
	plantEmail   = "wang.fang@example.com"
	plantName    = "王芳Zhangsan"
	plantMedical = "penicillin-allergy-XYZ"
)

func newLogger(buf *bytes.Buffer) *slog.Logger {
	return logx.New(buf, logx.Options{HashKey: []byte("test-key"), Function: "public-api"})
}

func TestPersonalDataNeverAppearsInClearText(t *testing.T) {
	type profile struct {
		Name    string `json:"name"`
		Phone   string `json:"phone"`
		Email   string `json:"email"`
		Store   string `json:"store"`
		Allergy string `json:"allergies"`
	}
	cases := []struct {
		name string
		log  func(l *slog.Logger)
	}{
		{"a phone under a phone key", func(l *slog.Logger) { l.Info("lead", "phone", "+86 138 0013 8000") }},
		{"a CN mobile inside the message text", func(l *slog.Logger) { l.Info("lead from " + plantPhone + " merged") }},
		{"a CN mobile in 3-4-4 form inside an innocent key", func(l *slog.Logger) { l.Info("x", "detail", "call 138-0013-8000 now") }},
		{"an E.164 number inside an error", func(l *slog.Logger) {
			l.Error("save failed", "err", fmt.Errorf("put item: %w", errors.New("duplicate +8613800138000")))
		}},
		{"an email in free text under an innocent key", func(l *slog.Logger) { l.Info("x", "note_id", "from "+plantEmail) }},
		{"a QQ email made of digits", func(l *slog.Logger) { l.Info("x", "detail", "13800138000@qq.com") }},
		{"a name under a name key", func(l *slog.Logger) { l.Info("x", "customer_name", plantName) }},
		{"a name inside a struct logged as any", func(l *slog.Logger) {
			l.Info("x", "profile", profile{plantName, plantPhone, plantEmail, "sh-01", plantMedical})
		}},
		{"a map with sensitive keys", func(l *slog.Logger) {
			l.Info("x", "fields", map[string]any{"medicalHistory": plantMedical, "fullName": plantName})
		}},
		{"a sensitive group", func(l *slog.Logger) {
			l.Info("x", slog.Group("sensitive", slog.String("allergies", plantMedical)))
		}},
		{"attributes bound with With", func(l *slog.Logger) { l.With("email", plantEmail).Info("x") }},
		{"attributes from the context", func(l *slog.Logger) {
			ctx := logx.With(context.Background(), slog.String("phone", plantPhone))
			l.InfoContext(ctx, "x")
		}},
		{"a group of innocent keys holding a phone", func(l *slog.Logger) {
			l.Info("x", slog.Group("req", slog.String("q", "tel:"+plantPhone)))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.log(newLogger(&buf))
			out := buf.String()
			for _, p := range []string{plantPhone, "138 0013 8000", "138-0013-8000", plantEmail, "wang.fang", plantName, "王芳", plantMedical} {
				if strings.Contains(out, p) {
					t.Errorf("log line contains %q in clear text:\n%s", p, out)
				}
			}
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatalf("log line is not one JSON object: %v\n%s", err, out)
			}
		})
	}
}

func TestTheSamePersonHashesTheSameSoLinesCorrelate(t *testing.T) {
	var buf bytes.Buffer
	l := newLogger(&buf)
	l.Info("a", "phone", plantPhone)
	l.Info("b", "phone", plantPhone)
	l.Info("c", "phone", "13900139000")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	get := func(i int) string {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatalf("log line %d is not JSON: %v", i, err)
		}
		s, _ := m["phone"].(string) // absent or not a string: "" fails the checks below
		return s
	}
	if get(0) != get(1) || get(0) == "" {
		t.Errorf("same phone hashed differently: %q vs %q", get(0), get(1))
	}
	if get(0) == get(2) {
		t.Errorf("different phones hashed alike: %q", get(0))
	}
}

func TestOrdinaryDataIsLeftReadable(t *testing.T) {
	cases := []struct{ name, key, val string }{
		{"a store id", "store", "sh-01"},
		{"an order number longer than a phone", "order", "2138001380001"},
		{"a timestamp", "at", "2025-03-01T13:00:00+08:00"},
		{"a customer id", "customer_id", "cus_01HZX3"},
		{"a status", "status", "201"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			newLogger(&buf).Info("x", tc.key, tc.val)
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			if m[tc.key] != tc.val {
				t.Errorf("%s = %v, want %q untouched", tc.key, m[tc.key], tc.val)
			}
		})
	}
}

func TestEveryLineCarriesTheRequestID(t *testing.T) {
	var buf bytes.Buffer
	l := newLogger(&buf)
	ctx := logx.WithRequestID(context.Background(), "req-123")
	l.InfoContext(ctx, "one")
	l.WarnContext(ctx, "two")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per event, got %d:\n%s", len(lines), buf.String())
	}
	for _, ln := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			t.Fatal(err)
		}
		if m["request_id"] != "req-123" || m["function"] != "public-api" {
			t.Errorf("line lacks request_id/function: %s", ln)
		}
	}
}

func TestLogHashKeyMustBeLongBase64(t *testing.T) {
	for in, ok := range map[string]bool{
		"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=": true, // 32 bytes
		"c2hvcnQ=":     false, // 5 bytes: hashes of phone numbers would be guessable by trying them
		"not base64!!": false,
		"":             false,
	} {
		if _, err := logx.ParseHashKey(in); (err == nil) != ok {
			t.Errorf("ParseHashKey(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

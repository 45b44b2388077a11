package notify

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
)

// closedAddr is a local address nothing listens on: connections are refused.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// hanging accepts requests, reads them whole and never answers until the test ends.
func hanging(t *testing.T) *httptest.Server {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			// An answer instead of the hang: the test waiting for one fails.
			http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv
}

// A request that never reached the provider was certainly not sent and is retried; one
// that reached it without an answer may have been accepted and is ambiguous.
func TestAnUnreachedRequestIsNotSentAndAnUnansweredOneIsAmbiguous(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(plain.Close)
	ses := func(endpoint string) Channel {
		return &Email{From: "care@example.com", Client: sesv2.New(sesv2.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Retryer: aws.NopRetryer{},
			Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""),
		})}
	}
	hook := func(endpoint string) Channel {
		w, err := NewWebhook(endpoint, "0123456789abcdef0123", nil)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	cancelled := func() context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx
	}
	for _, ch := range []struct {
		name string
		mk   func(string) Channel
		out  func() app.Outgoing
	}{
		{"SES email", ses, func() app.Outgoing {
			m := msg("rem_e")
			m.Channel, m.To = model.ChannelEmail, "ann@example.com"
			return m
		}},
		{"webhook SMS", hook, func() app.Outgoing { return msg("rem_w") }},
	} {
		for _, tc := range []struct {
			name     string
			endpoint func() string
			ctx      func() context.Context
			timeout  time.Duration
			want     error
		}{
			{"connection refused is not sent", func() string { return "http://" + closedAddr(t) }, context.Background, 0, app.ErrNotSent},
			{"a failed TLS handshake is not sent", func() string { return "https://" + plain.Listener.Addr().String() }, context.Background, 0, app.ErrNotSent},
			{"a context cancelled before the request is not sent", func() string { return plain.URL }, cancelled, 0, app.ErrNotSent},
			{"a request the provider read but never answered is ambiguous", func() string { return hanging(t).URL }, context.Background, 300 * time.Millisecond, app.ErrAmbiguous},
		} {
			t.Run(ch.name+": "+tc.name, func(t *testing.T) {
				ctx := tc.ctx()
				if tc.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.timeout)
					defer cancel()
				}
				_, err := ch.mk(tc.endpoint()).Send(ctx, ch.out())
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				other := app.ErrAmbiguous
				if tc.want == app.ErrAmbiguous {
					other = app.ErrNotSent
				}
				if errors.Is(err, other) {
					t.Errorf("err = %v is both not-sent and ambiguous", err)
				}
			})
		}
	}
}

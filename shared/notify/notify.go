// Package notify delivers rendered reminders: one app.Sender over per-channel adapters
// (email through SES v2, SMS through AWS End User Messaging SMS, a local outbox file or a
// signed webhook). Adapters translate provider failures into app.ErrPermanent (invalid
// number, rejected address: stop and mark the contact bad), app.ErrNotSent (the request
// never reached the provider: connection refused, DNS, TLS, a context that ended before
// the body was written — certainly not sent, retried) and app.ErrAmbiguous (the request
// left and no answer came: it may have been accepted, never resend blindly); any other
// provider answer is retryable.
package notify

import (
	"context"
	"fmt"
	"net/http/httptrace"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
)

// Channel delivers on one channel.
type Channel interface {
	Send(ctx context.Context, m app.Outgoing) (providerID string, err error)
	// Lookup reports what the provider knows about an idempotency key; providers with no
	// status API return app.LookupUnknown.
	Lookup(ctx context.Context, key string) (app.Lookup, string, error)
}

// Sender routes each message to its channel's adapter.
type Sender struct {
	channels map[model.Channel]Channel
}

var _ app.Sender = (*Sender)(nil)

// ErrNoChannel is returned for a channel nothing is configured for. It is permanent: a
// retry would not find one either.
var ErrNoChannel = fmt.Errorf("notify: channel not configured: %w", app.ErrPermanent)

// New returns a Sender over the given adapters.
func New(channels map[model.Channel]Channel) *Sender { return &Sender{channels: channels} }

// Send implements app.Sender.
func (s *Sender) Send(ctx context.Context, m app.Outgoing) (string, error) {
	c, ok := s.channels[m.Channel]
	if !ok {
		return "", fmt.Errorf("%s: %w", m.Channel, ErrNoChannel)
	}
	return c.Send(ctx, m)
}

// Lookup implements app.Sender.
func (s *Sender) Lookup(ctx context.Context, ch model.Channel, key string) (app.Lookup, string, error) {
	c, ok := s.channels[ch]
	if !ok {
		return app.LookupUnknown, "", nil
	}
	return c.Lookup(ctx, key)
}

// FromEnv builds the Sender a dispatch function uses: email through SES v2 from
// SENDER_EMAIL, SMS chosen by SMS_PROVIDER (pinpoint | webhook | outbox; outbox is the
// default and writes to SMS_OUTBOX_PATH). Endpoints come from the aws.Config, so the
// local emulators are reached through AWS_ENDPOINT_URL_<SERVICE>.
func FromEnv(cfg aws.Config, e *env.Reader) (*Sender, error) {
	ch := map[model.Channel]Channel{}
	if from := e.Optional("SENDER_EMAIL", ""); from != "" {
		ch[model.ChannelEmail] = &Email{Client: sesv2.NewFromConfig(cfg), From: from, ConfigurationSet: e.Optional("SES_CONFIGURATION_SET", "")}
	}
	switch p := e.Optional("SMS_PROVIDER", "outbox"); p {
	case "pinpoint":
		ch[model.ChannelSMS] = &SMS{Client: pinpointsmsvoicev2.NewFromConfig(cfg), OriginationIdentity: e.Required("SMS_ORIGINATION_IDENTITY"),
			ConfigurationSet: e.Optional("SMS_CONFIGURATION_SET", "")}
	case "webhook":
		w, err := NewWebhook(e.Required("SMS_WEBHOOK_URL"), e.Required("SMS_WEBHOOK_SECRET"), nil)
		if err != nil {
			return nil, err
		}
		ch[model.ChannelSMS] = w
	case "outbox", "":
		ch[model.ChannelSMS] = NewOutbox(e.Required("SMS_OUTBOX_PATH"))
	default:
		return nil, fmt.Errorf("notify: SMS_PROVIDER %q: want pinpoint, webhook or outbox", p)
	}
	if err := e.Err(); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return New(ch), nil
}

// reach records whether a request was written to the provider in full: only then can
// the provider have acted on it.
type reach struct{ wrote atomic.Bool }

// traced returns a context whose HTTP requests report to the returned reach. The SDK
// clients and the webhook build their requests from this context, on every attempt.
func traced(ctx context.Context) (context.Context, *reach) {
	r := &reach{}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				r.wrote.Store(true)
			}
		},
	}), r
}

// transportError classifies an error that is not a provider answer: a request never
// written in full (no connection, DNS, TLS, a context that ended first) was certainly
// not sent; one written without an answer may have been accepted.
func transportError(op string, err error, r *reach) error {
	if r == nil || !r.wrote.Load() {
		return fmt.Errorf("%s: %w: %w", op, app.ErrNotSent, err)
	}
	return fmt.Errorf("%s: %w: %w", op, app.ErrAmbiguous, err)
}

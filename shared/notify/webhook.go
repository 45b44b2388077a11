package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tierflow/tierflow/shared/followup/app"
)

// Webhook posts each message as JSON to another provider's endpoint, signed with
// HMAC-SHA256 over "<timestamp>.<body>" so the receiver can check origin and freshness:
//
//	X-Tierflow-Timestamp: <unix seconds>
//	X-Tierflow-Signature: sha256=<hex>
//	Idempotency-Key: <reminder id>
//
// 2xx is accepted (the JSON body's "id" is the provider id), 408/429/5xx are retried,
// other 4xx are permanent. Lookup asks GET <url>?idempotencyKey=<key> (signed the same
// way over an empty body): 200 sent, 404 never seen, anything else unknown.
type Webhook struct {
	URL    string
	secret []byte
	Client *http.Client
	Now    func() time.Time
}

// NewWebhook returns a webhook channel. The secret comes from the environment (or a
// secret store), never from the repository.
func NewWebhook(endpoint, secret string, client *http.Client) (*Webhook, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("notify: webhook URL must be http(s)://host/…")
	}
	if len(secret) < 16 {
		return nil, fmt.Errorf("notify: webhook secret must be at least 16 bytes")
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Webhook{URL: endpoint, secret: []byte(secret), Client: client, Now: time.Now}, nil
}

// Sign returns the signature header value for a timestamp and body.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature in constant time (for receivers written in Go, and tests).
func Verify(secret []byte, ts string, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sig))
}

type webhookBody struct {
	IdempotencyKey string `json:"idempotencyKey"`
	Channel        string `json:"channel"`
	Category       string `json:"category"`
	To             string `json:"to"`
	Subject        string `json:"subject,omitempty"`
	Text           string `json:"text"`
	HTML           string `json:"html,omitempty"`
	Locale         string `json:"locale,omitempty"`
	UnsubscribeURL string `json:"unsubscribeUrl,omitempty"`
}

func (w *Webhook) do(ctx context.Context, method, target string, body []byte, key string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(w.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tierflow-Timestamp", ts)
	req.Header.Set("X-Tierflow-Signature", Sign(w.secret, ts, body))
	req.Header.Set("Idempotency-Key", key)
	return w.Client.Do(req)
}

// Send implements Channel.
func (w *Webhook) Send(ctx context.Context, m app.Outgoing) (string, error) {
	body, err := json.Marshal(webhookBody{
		IdempotencyKey: m.IdempotencyKey, Channel: string(m.Channel), Category: string(m.Category), To: m.To,
		Subject: m.Message.Subject, Text: m.Message.Text, HTML: m.Message.HTML, Locale: m.Message.Locale, UnsubscribeURL: m.UnsubscribeURL,
	})
	if err != nil {
		return "", fmt.Errorf("webhook %s: %w", m.ReminderID, err)
	}
	tctx, reached := traced(ctx)
	resp, err := w.do(tctx, http.MethodPost, w.URL, body, m.IdempotencyKey)
	if err != nil {
		return "", transportError("webhook "+m.ReminderID, err, reached)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		var r struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(b, &r)
		if r.ID == "" {
			r.ID = "webhook-" + m.IdempotencyKey
		}
		return r.ID, nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return "", fmt.Errorf("webhook %s: HTTP %d", m.ReminderID, resp.StatusCode)
	}
	return "", fmt.Errorf("webhook %s: HTTP %d: %w", m.ReminderID, resp.StatusCode, app.ErrPermanent)
}

// Lookup implements Channel.
func (w *Webhook) Lookup(ctx context.Context, key string) (app.Lookup, string, error) {
	u, err := url.Parse(w.URL)
	if err != nil {
		return app.LookupUnknown, "", nil
	}
	q := u.Query()
	q.Set("idempotencyKey", key)
	u.RawQuery = q.Encode()
	resp, err := w.do(ctx, http.MethodGet, u.String(), nil, key)
	if err != nil {
		return app.LookupUnknown, "", nil
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var r struct {
			ID string `json:"id"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&r)
		return app.LookupSent, r.ID, nil
	case http.StatusNotFound:
		return app.LookupNotFound, "", nil
	}
	return app.LookupUnknown, "", nil
}

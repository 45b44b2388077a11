package hostile

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/tierflow/tierflow/infra/local/stack"
	"github.com/tierflow/tierflow/infra/local/stack/stacktest"
	"github.com/tierflow/tierflow/shared/secrets"
)

// st is the stack every test of the package talks to.
var st *stack.Stack

// inboundKey is the test value the SMS provider signs inbound replies with.
const inboundKey = "hostile-inbound-signing-key-not-a-secret"

func TestMain(m *testing.M) {
	os.Exit(stacktest.MainWith(m, stacktest.Config{
		// Every request of the suite comes from 127.0.0.1 and several name the same
		// phone: the limits themselves are tested in public-api.
		Params:  map[string]string{"LeadRatePerIp": "1000000", "LeadRatePerPhone": "1000000"},
		Secrets: map[string]string{secrets.SMSInboundSecret: inboundKey},
	}, &st))
}

// request is one HTTP request, before ${…} placeholders are filled from the world.
type request struct {
	Method, Path string
	Body         string // with placeholders; ignored when BodyFn is set
	BodyFn       func(w *world) []byte
	ContentType  string            // default application/json when there is a body
	Header       map[string]string // with placeholders
	Host         string            // overrides the Host header (with placeholders)
	// Sign adds headers computed from the body when it is sent (webhook signatures).
	Sign func(body []byte) map[string]string
}

// response is what came back.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

var client = &http.Client{Timeout: 60 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// send fills the placeholders of r and sends it with the bearer token (none when "").
func send(t *testing.T, w *world, r request, token string) response {
	t.Helper()
	var body []byte
	switch {
	case r.BodyFn != nil:
		body = r.BodyFn(w)
	case r.Body != "":
		body = []byte(w.expand(t, r.Body))
	}
	req, err := http.NewRequest(r.Method, st.URL+w.expand(t, r.Path), bytes.NewReader(body))
	if err != nil {
		t.Fatalf("build %s %s: %v", r.Method, r.Path, err)
	}
	if len(body) > 0 {
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range r.Header {
		req.Header.Set(k, w.expand(t, v))
	}
	if r.Sign != nil {
		for k, v := range r.Sign(body) {
			req.Header.Set(k, v)
		}
	}
	if r.Host != "" {
		req.Host = w.expand(t, r.Host)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", r.Method, r.Path, err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// short renders an answer for a failure message.
func (r response) short() string {
	b := r.Body
	if len(b) > 400 {
		b = append(b[:400:400], "…"...)
	}
	return fmt.Sprintf("%d %s", r.Status, b)
}

package notify

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2/types"

	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/message"
	"github.com/tierflow/tierflow/shared/model"
)

func msg(id string) app.Outgoing {
	return app.Outgoing{IdempotencyKey: id, ReminderID: id, CustomerID: "c1", Channel: model.ChannelSMS, Category: model.CategoryService,
		To: "+8613800138000", Message: message.Rendered{Locale: "zh-CN", Text: "您好"}}
}

// The outbox keeps one line per idempotency key, across concurrent senders and across
// processes (a second Outbox on the same file), and Lookup reads it back.
func TestOutboxOneLinePerKeyAndLookup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	a, b := NewOutbox(path), NewOutbox(path)
	var wg sync.WaitGroup
	for i := range 20 {
		o := a
		if i%2 == 1 {
			o = b
		}
		wg.Go(func() {
			if _, err := o.Send(context.Background(), msg("rem_1")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, err := a.Send(context.Background(), msg("rem_2")); err != nil {
		t.Fatal(err)
	}
	lines, err := ReadOutbox(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]int{}
	for _, l := range lines {
		keys[l.Key]++
	}
	if keys["rem_1"] != 1 || keys["rem_2"] != 1 {
		t.Fatalf("lines per key: %v", keys)
	}
	if st, id, err := NewOutbox(path).Lookup(context.Background(), "rem_2"); err != nil || st != app.LookupSent || id == "" {
		t.Fatalf("lookup of a sent key: %v %q %v", st, id, err)
	}
	if st, _, err := a.Lookup(context.Background(), "rem_9"); err != nil || st != app.LookupNotFound {
		t.Fatalf("lookup of an unknown key: %v %v", st, err)
	}
	if _, err := a.Send(context.Background(), app.Outgoing{IdempotencyKey: "rem_3"}); !errors.Is(err, app.ErrPermanent) {
		t.Fatalf("no number: %v, want permanent", err)
	}
}

func TestWebhookSignsAndMapsStatuses(t *testing.T) {
	secret := "0123456789abcdef-secret"
	var status int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("webhook body: %v", err)
		}
		if !Verify([]byte(secret), r.Header.Get("X-Tierflow-Timestamp"), body, r.Header.Get("X-Tierflow-Signature")) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodGet {
			if r.URL.Query().Get("idempotencyKey") == "known" {
				if _, err := io.WriteString(w, `{"id":"p-9"}`); err != nil {
					t.Errorf("webhook answer: %v", err)
				}
				return
			}
			w.WriteHeader(http.StatusNotFound)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		w.WriteHeader(status)
		if _, err := io.WriteString(w, `{"id":"p-1"}`); err != nil {
			t.Errorf("webhook answer: %v", err)
		}
	}))
	defer srv.Close()
	w, err := NewWebhook(srv.URL, secret, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		status    int
		permanent bool
		ok        bool
	}{{200, false, true}, {202, false, true}, {429, false, false}, {503, false, false}, {400, true, false}, {410, true, false}} {
		mu.Lock()
		status = c.status
		mu.Unlock()
		id, err := w.Send(context.Background(), msg("rem_w"))
		switch {
		case c.ok && (err != nil || id != "p-1"):
			t.Fatalf("%d: %q %v", c.status, id, err)
		case !c.ok && err == nil:
			t.Fatalf("%d accepted", c.status)
		case !c.ok && errors.Is(err, app.ErrPermanent) != c.permanent:
			t.Fatalf("%d: permanent=%v, want %v", c.status, errors.Is(err, app.ErrPermanent), c.permanent)
		}
	}
	if st, id, err := w.Lookup(context.Background(), "known"); err != nil || st != app.LookupSent || id != "p-9" {
		t.Fatalf("lookup known: %v %q %v", st, id, err)
	}
	if st, _, err := w.Lookup(context.Background(), "other"); err != nil || st != app.LookupNotFound {
		t.Fatalf("lookup unknown: %v %v", st, err)
	}
	bad, err := NewWebhook(srv.URL, "another-secret-value-x", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Send(context.Background(), msg("rem_x")); !errors.Is(err, app.ErrPermanent) {
		t.Fatalf("wrong secret: %v, want the receiver's 401 as permanent", err)
	}
	if _, err := NewWebhook(srv.URL, "short", nil); err == nil {
		t.Fatal("a short secret was accepted")
	}
}

// Provider answers map to what the dispatcher does next: an invalid or opted-out number
// stops (permanent), throttling retries, a connection lost mid-request is ambiguous.
func TestSMSErrorClasses(t *testing.T) {
	for _, c := range []struct {
		err                  error
		permanent, ambiguous bool
	}{
		{&types.ValidationException{Message: aws.String("bad number"), Reason: types.ValidationExceptionReasonInvalidParameter}, true, false},
		{&types.ConflictException{Message: aws.String("opted out"), Reason: types.ConflictExceptionReasonDestinationPhoneNumberOptedOut}, true, false},
		{&types.ThrottlingException{Message: aws.String("slow down")}, false, false},
		{io.ErrUnexpectedEOF, false, true},
	} {
		wrote := &reach{}
		wrote.wrote.Store(true)
		err := classifySMS("rem_s", c.err, wrote)
		if errors.Is(err, app.ErrPermanent) != c.permanent || errors.Is(err, app.ErrAmbiguous) != c.ambiguous {
			t.Fatalf("%T: %v (permanent=%v ambiguous=%v)", c.err, err, c.permanent, c.ambiguous)
		}
	}
}

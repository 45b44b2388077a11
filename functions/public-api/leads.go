package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/env"
	tfevents "github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/followup"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/store"
)

func newLeads(a *app, e *env.Reader) *leads {
	return &leads{
		log:   a.log,
		table: a.table,
		now:   a.now,
		rules: customer.Rules{
			DefaultRegion: e.Optional("DEFAULT_PHONE_REGION", "CN"),
			Stores:        e.List("STORES"),
			DefaultStore:  e.Optional("DEFAULT_STORE", ""),
		},
		grading:   customer.DefaultGradePolicy(),
		thankYou:  e.Optional("THANK_YOU_URL", "/thanks.html"),
		redirects: e.List("CORS_ALLOW_ORIGINS"),
		perIP:     store.RateLimit{Scope: "lead-ip", Limit: int64(e.Int("LEAD_RATE_PER_IP", 30)), Window: time.Hour},
		perPhone:  store.RateLimit{Scope: "lead-phone", Limit: int64(e.Int("LEAD_RATE_PER_PHONE", 5)), Window: time.Hour},
		planner:   a.followup.Planner(),
		events:    a.events,
	}
}

// leadPlanner is the follow-up service a lead is handed to (followup/app.Planner over the
// store's follow-up adapter): a new person's first-contact task, a known person's
// call-back and the confirmation of a consent they asked for.
type leadPlanner interface {
	Handle(ctx context.Context, t followup.Trigger) (fapp.PlanResult, error)
	OpenKinds(ctx context.Context, customerID string) (map[followup.TriggerKind]bool, error)
}

// leadBodyLimit: a lead form is a few hundred bytes; 16 KB leaves room for a long message.
const leadBodyLimit = 16 << 10

// leads handles POST /v1/leads: a plain HTML form or a script's JSON, one person, one profile.
type leads struct {
	log       *slog.Logger
	table     *store.Table
	now       func() time.Time
	rules     customer.Rules
	grading   customer.GradePolicy
	thankYou  string
	redirects []string // origins a form's redirect field may point to
	perIP     store.RateLimit
	perPhone  store.RateLimit
	planner   leadPlanner
	events    tfevents.Publisher // nil publishes nothing
}

// leadResponse is what a script gets; a browser gets a 303 to the thank-you page. It is
// the same for a new person, a known person and a bot caught by the honeypot, and holds
// no id: the public door must not tell a stranger who is a customer. Staff find the
// person with GET /v1/customers?q=<phone or e-mail>.
type leadResponse struct {
	Status string `json:"status"`
}

var received = leadResponse{Status: "received"}

func (h *leads) post(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	body, err := httpx.Body(req, leadBodyLimit)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	mt, err := httpx.MediaType(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	isForm := mt == httpx.MediaForm
	if !isForm && mt != httpx.MediaJSON {
		return events.APIGatewayV2HTTPResponse{}, httpx.UnsupportedMediaType(httpx.MediaForm, httpx.MediaJSON)
	}
	now := h.now()
	ip := httpx.SourceIP(req)
	if ok, retry, err := h.table.Allow(ctx, h.perIP, ip, now); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	} else if !ok {
		return events.APIGatewayV2HTTPResponse{}, httpx.TooManyRequests(retry)
	}

	key := httpx.Header(req, "Idempotency-Key")
	if key != "" {
		if len(key) > 200 {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("Idempotency-Key", "must be at most 200 characters")
		}
		sum := sha256.Sum256(body)
		stored, err := h.table.BeginIdempotent(ctx, "lead", key, hex.EncodeToString(sum[:]), now)
		switch {
		case errors.Is(err, store.ErrInProgress):
			return events.APIGatewayV2HTTPResponse{}, httpx.Conflict("A request with this Idempotency-Key is still being processed.")
		case errors.Is(err, store.ErrKeyReused):
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("Idempotency-Key", "was already used for a different request")
		case err != nil:
			return events.APIGatewayV2HTTPResponse{}, err
		case stored != nil:
			h.log.InfoContext(ctx, "lead replayed", "status", stored.Status)
			return events.APIGatewayV2HTTPResponse{StatusCode: stored.Status, Headers: stored.Headers, Body: stored.Body}, nil
		}
	}
	resp, err := h.accept(ctx, req, body, isForm, now)
	if key != "" {
		if err != nil {
			if aerr := h.table.AbandonIdempotent(ctx, "lead", key); aerr != nil {
				h.log.ErrorContext(ctx, "release idempotency key", "err", aerr)
			}
		} else if ferr := h.table.FinishIdempotent(ctx, "lead", key, store.StoredResponse{Status: resp.StatusCode, Headers: resp.Headers, Body: resp.Body}); ferr != nil {
			// The lead is stored; a retry would merge into the same profile, so answer anyway.
			h.log.ErrorContext(ctx, "store idempotent response", "err", ferr)
		}
	}
	return resp, err
}

func (h *leads) accept(ctx context.Context, req events.APIGatewayV2HTTPRequest, body []byte, isForm bool, now time.Time) (events.APIGatewayV2HTTPResponse, error) {
	var form customer.LeadForm
	channel := "api"
	if isForm {
		channel = "form"
		vals, err := httpx.ParseForm(body)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if form, err = customer.FormFromValues(vals); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
	} else if err := httpx.UnmarshalStrict(body, &form); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	lead, err := h.rules.Validate(form, customer.Submission{At: now, IP: httpx.SourceIP(req), Channel: channel})
	if errors.Is(err, customer.ErrSpam) {
		// Answer like a success so the bot learns nothing; store nothing.
		h.log.InfoContext(ctx, "lead dropped", "reason", "honeypot")
		return h.answer(isForm, form.Redirect), nil
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if lead.Phone != "" {
		// The counter key carries a hash: rate-limit items must not hold a phone number.
		sum := sha256.Sum256([]byte(lead.Phone))
		if ok, retry, err := h.table.Allow(ctx, h.perPhone, hex.EncodeToString(sum[:12]), now); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		} else if !ok {
			return events.APIGatewayV2HTTPResponse{}, httpx.TooManyRequests(retry)
		}
	}
	g := h.grading.Grade(lead)
	res, err := h.table.ResolveLead(ctx, lead, g, now)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("accept lead: %w", err)
	}
	h.publish(ctx, res, channel, now)
	planned := h.followUp(ctx, res, g, now)
	h.log.InfoContext(ctx, "lead accepted", "customer", res.Profile.ID, "created", res.Created,
		"grade", string(g.Grade), "channel", channel, "conflicts", len(res.Conflicts), "toConfirm", len(res.Confirm),
		"attempts", res.Attempts, "planned", planned)
	return h.answer(isForm, lead.Redirect), nil
}

// followUp plans what the lead means, and returns how many reminders it created:
//   - a new person: the first-contact task of their grade;
//   - a known person: a call-back task of this form's grade, unless a call a lead planned
//     is still open (staff about to call need no second task for the same person), and,
//     when the form asked for consent the person does not have, one confirmation message
//     to a contact of theirs the form matched (their phone first, else their e-mail) —
//     never to a contact only the form gave — unless a confirmation is still on its way.
//
// A failure is logged, not answered: the lead is stored, and the staff lists and the
// timeline show it.
// publish tells the business's other tools (docs/events.md): lead.created for a new
// person, customer.merged for a form that landed on someone known. Ids and codes only.
// The event id is derived from the customer and the touch, so a retried request that
// lands the same touch publishes the same id. A failure is logged: the lead is stored.
func (h *leads) publish(ctx context.Context, res store.LeadResult, channel string, now time.Time) {
	if h.events == nil {
		return
	}
	id := res.Profile.ID
	ev := tfevents.Event{ID: tfevents.Key(tfevents.CustomerMerged, id, res.TouchID), Type: tfevents.CustomerMerged, Time: now,
		Store: res.Profile.Store, Detail: map[string]any{"customerId": id, "touchId": res.TouchID, "channel": channel, "matched": res.Matched}}
	if res.Created {
		ev = tfevents.Event{ID: tfevents.Key(tfevents.LeadCreated, id), Type: tfevents.LeadCreated, Time: now, Store: res.Profile.Store,
			Detail: map[string]any{"customerId": id, "touchId": res.TouchID, "channel": channel, "grade": string(res.Profile.LeadGrade)}}
	}
	if err := h.events.Publish(ctx, ev); err != nil {
		h.log.ErrorContext(ctx, "publish lead event", "customer", id, "type", ev.Type, "err", err)
	}
}

func (h *leads) followUp(ctx context.Context, res store.LeadResult, g customer.Grading, now time.Time) int {
	if h.planner == nil {
		return 0
	}
	id := res.Profile.ID
	planned := 0
	plan := func(t followup.Trigger) int {
		pr, err := h.planner.Handle(ctx, t)
		if err != nil {
			h.log.ErrorContext(ctx, "plan lead follow-up", "customer", id, "trigger", string(t.Kind), "err", err)
		}
		planned += len(pr.Created)
		return len(pr.Created)
	}
	if res.Created {
		plan(followup.Trigger{Kind: followup.TriggerNewLead, CustomerID: id, Ref: "lead#" + res.TouchID, At: now, Grade: res.Profile.LeadGrade})
		return planned
	}
	open, err := h.planner.OpenKinds(ctx, id)
	if err != nil {
		h.log.ErrorContext(ctx, "read open follow-up", "customer", id, "err", err)
		return planned
	}
	if !open[followup.TriggerNewLead] && !open[followup.TriggerKnownLead] {
		plan(followup.Trigger{Kind: followup.TriggerKnownLead, CustomerID: id, Ref: "lead#" + res.TouchID, At: now, Grade: g.Grade})
	}
	if len(res.Confirm) > 0 && !open[followup.TriggerConsentRequested] {
		for _, ch := range res.Matched {
			if plan(followup.Trigger{Kind: followup.TriggerConsentRequested, CustomerID: id, Ref: res.TouchRef, At: now, Channel: ch}) > 0 {
				break // one confirmation; the next channel only if this one may not be used
			}
		}
	}
	return planned
}

func (h *leads) answer(isForm bool, redirect string) events.APIGatewayV2HTTPResponse {
	if isForm {
		return httpx.SeeOther(httpx.RedirectTarget(redirect, h.redirects, h.thankYou))
	}
	resp := httpx.JSON(http.StatusAccepted, received)
	resp.Headers["Cache-Control"] = "no-store"
	return resp
}

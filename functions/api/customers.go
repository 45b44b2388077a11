package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/followup"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
)

func newCustomers(a *app, e *env.Reader) *customers {
	return &customers{
		log: a.log, acc: a.acc, desk: a.desk, limits: a.limits, now: a.now,
		rules:  customer.Rules{DefaultRegion: e.Optional("DEFAULT_PHONE_REGION", "CN"), Stores: e.List("STORES")},
		stores: e.List("STORES"),
	}
}

// customerDesk is what the customer routes do with the customers acc resolved
// (store.Staff): every method takes the grant.
type customerDesk interface {
	Sensitive(ctx context.Context, c access.Customer) (customer.Sensitive, error)
	SaveProfile(ctx context.Context, c access.Customer, next customer.Profile, sens *customer.Sensitive, at time.Time) error
	Erase(ctx context.Context, c access.Customer, now time.Time) (customer.Profile, error)
	Plan(ctx context.Context, c access.Customer, ts ...followup.Trigger) (fapp.PlanResult, error)
	Touches(ctx context.Context, c access.Customer) ([]store.TouchItem, error)
	Timeline(ctx context.Context, c access.Customer) ([]store.TimelineEntry, error)
	AuditLog(ctx context.Context, c access.Customer, limit int32, cursor string) ([]customer.AuditEntry, string, error)
	Customers(ctx context.Context, st access.Store, f store.CustomerFilter) ([]customer.Profile, string, error)
}

// customers serves the staff customer routes. Rules live in shared/customer and
// shared/access; this file resolves, calls them, audits and answers.
type customers struct {
	log    *slog.Logger
	acc    *access.Layer
	desk   customerDesk
	limits limiter
	now    func() time.Time
	rules  customer.Rules
	stores []string // every store, for callers who see all of them
}

func request(req events.APIGatewayV2HTTPRequest) access.Request {
	return access.Request{ID: httpx.RequestID(req), SourceIP: httpx.SourceIP(req)}
}

func (c *customers) record(ctx context.Context, req events.APIGatewayV2HTTPRequest, cu access.Customer, action string, fields []string) {
	if err := c.acc.Record(ctx, cu, action, fields, request(req)); err != nil {
		c.log.ErrorContext(ctx, "audit entry not written", "customer", cu.ID(), "action", action, "err", err)
	}
}

// resolve is the opening of every single-customer route: who asks, and the customer of
// the path if they may do act to them (the same 404 otherwise).
func (c *customers) resolve(ctx context.Context, req events.APIGatewayV2HTTPRequest, act access.Action) (access.Customer, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return access.Customer{}, err
	}
	return c.acc.Customer(ctx, p, req.PathParameters["id"], act)
}

type listPage struct {
	Items      []customer.Summary `json:"items"`
	NextCursor string             `json:"nextCursor,omitempty"`
}

var (
	listTiers  = []string{"A", "B", "C", "-"} // "-": not tiered yet
	listStages = []string{string(model.StageLead), string(model.StageNew), string(model.StageActive),
		string(model.StageDormant), string(model.StageSleeping), string(model.StageChurned)}
	listGrades = []string{string(model.LeadHot), string(model.LeadWarm), string(model.LeadCold)}
)

func (c *customers) list(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	q := req.QueryStringParameters
	for k := range q {
		if !slices.Contains([]string{"store", "tier", "stage", "tag", "leadGrade", "limit", "cursor", "q"}, k) {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest(k, "is not a known filter")
		}
	}
	if text, ok := q["q"]; ok {
		return c.search(ctx, p, text)
	}
	st, err := c.acc.Store(p, q["store"], c.stores, access.ListCustomers)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	limit, err := limitParam(q)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	// Filters become key conditions: values outside their vocabulary are the caller's
	// mistake (400), never a query DynamoDB refuses.
	for _, f := range []struct {
		name  string
		known []string
	}{{"tier", listTiers}, {"stage", listStages}, {"leadGrade", listGrades}} {
		if v := q[f.name]; v != "" && !slices.Contains(f.known, v) {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest(f.name, "must be one of "+strings.Join(f.known, ", "))
		}
	}
	if len(q["tag"]) > 50 {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("tag", "at most 50 characters")
	}
	ps, next, err := c.desk.Customers(ctx, st, store.CustomerFilter{Tier: q["tier"], Stage: q["stage"],
		Tag: q["tag"], LeadGrade: q["leadGrade"], Limit: int32(limit), Cursor: q["cursor"]})
	if errors.Is(err, store.ErrBadCursor) {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("cursor", "is not a cursor of this list")
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	page := listPage{Items: make([]customer.Summary, 0, len(ps)), NextCursor: next}
	for _, prof := range ps {
		page.Items = append(page.Items, prof.Summary(p.Role))
	}
	return httpx.JSON(http.StatusOK, page), nil
}

// search answers GET /v1/customers?q=<phone or e-mail>: the one customer that contact
// belongs to, normalised like the lead form (so "138 0013 8000" finds +86 13800138000),
// as a list of at most one summary. A customer of a store the caller may not see is an
// empty list, exactly like a contact nobody has.
func (c *customers) search(ctx context.Context, p auth.Principal, text string) (events.APIGatewayV2HTTPResponse, error) {
	text = strings.TrimSpace(text)
	var phone, email string
	switch {
	case text == "" || len(text) > 254:
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("q", "give a phone number or an e-mail address")
	case strings.Contains(text, "@"):
		e, err := customer.NormalizeEmail(text)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("q", "not an e-mail address")
		}
		email = e
	default:
		ph, err := customer.NormalizePhone(text, c.rules.DefaultRegion)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("q", "give a phone number or an e-mail address")
		}
		phone = ph
	}
	page := listPage{Items: []customer.Summary{}}
	cu, found, err := c.acc.CustomerByContact(ctx, p, phone, email, access.ListCustomers)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if found {
		page.Items = append(page.Items, cu.View().Summary(p.Role))
	}
	return httpx.JSON(http.StatusOK, page), nil
}

// detail is the full view: contact in clear (the read is audited), the sensitive section
// only for roles that may read it, the tier explanation when tiering wrote one.
type detail struct {
	customer.View
	Sensitive *customer.Sensitive `json:"sensitive,omitempty"`
	Touches   []store.TouchItem   `json:"touchItems,omitempty"`
}

// detail adds what the caller's role may see to the profile: tier explanation, the
// churn/CLV prediction and aggregates for everyone, the sensitive section for clinicians
// and admins (the desk opens it only for them).
func (c *customers) detail(ctx context.Context, cu access.Customer, view customer.View) (detail, error) {
	d := detail{View: view}
	s, err := c.desk.Sensitive(ctx, cu)
	if err != nil {
		return d, err
	}
	if !s.IsZero() {
		d.Sensitive = &s
	}
	return d, nil
}

func (c *customers) get(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	cu, err := c.resolve(ctx, req, access.ReadCustomer)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	d, err := c.detail(ctx, cu, cu.View())
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	fields := []string{"profile"}
	if d.Sensitive != nil {
		fields = append(fields, customer.SensitiveFields...)
	}
	c.record(ctx, req, cu, "read", fields)
	return httpx.JSON(http.StatusOK, d), nil
}

// contactConflicts bounds how often one staff member may hit a phone or e-mail that is
// someone else's: each such answer tells that the contact is a customer's somewhere in
// the business, so probing numbers one by one is slowed to this rate.
var contactConflicts = store.RateLimit{Scope: "staff-contact-conflict", Limit: 10, Window: time.Hour}

// auditContactConflict is the action written on the owner's log when a staff member
// tried to give their phone or e-mail to another customer.
const auditContactConflict = "contact-conflict"

func (c *customers) patch(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var body map[string]json.RawMessage
	if err := httpx.DecodeJSON(req, &body, 0); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	cu, err := c.acc.Customer(ctx, p, req.PathParameters["id"], access.EditCustomer)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	view := cu.View()
	touchesSensitive := slices.ContainsFunc(customer.SensitiveFields, func(f string) bool { _, ok := body[f]; return ok })
	var sens customer.Sensitive
	if touchesSensitive && cu.MayReadSensitive() {
		if sens, err = c.desk.Sensitive(ctx, cu); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
	}
	now := c.now()
	edit, err := c.rules.ApplyPatch(view.Profile, sens, p.Role, body, p.Sub, now)
	if errors.Is(err, customer.ErrErased) {
		return events.APIGatewayV2HTTPResponse{}, httpx.Conflict("The customer's data was erased.")
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if edit.Profile.Store != view.Store && !cu.MayMoveTo(edit.Profile.Store) {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("store", "not one of the stores your token covers")
	}
	if len(edit.Changed) > 0 {
		if err := c.save(ctx, req, cu, edit, touchesSensitive, now); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		c.record(ctx, req, cu, "update", edit.Changed)
	}
	view.Profile = edit.Profile
	d, err := c.detail(ctx, cu, view)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return httpx.JSON(http.StatusOK, d), nil
}

// save writes a checked edit. A phone or e-mail that is another customer's — whoever's,
// in whichever store — answers the same 409 without saying whose, writes the attempt to
// that customer's audit log, and counts against the caller's contactConflicts.
func (c *customers) save(ctx context.Context, req events.APIGatewayV2HTTPRequest, cu access.Customer, edit customer.Edit, touchesSensitive bool, now time.Time) error {
	p := cu.Caller()
	changesContact := slices.Contains(edit.Changed, "phone") || slices.Contains(edit.Changed, "email")
	if changesContact {
		// Once the limit is reached no contact change is answered at all, taken or free.
		spent, wait, err := c.limits.Exhausted(ctx, contactConflicts, p.Sub, now)
		if err != nil {
			return err
		}
		if spent {
			return httpx.TooManyRequests(wait)
		}
	}
	var sens *customer.Sensitive
	if touchesSensitive && slices.ContainsFunc(edit.Changed, func(f string) bool { return slices.Contains(customer.SensitiveFields, f) }) {
		sens = &edit.Sensitive
	}
	err := c.desk.SaveProfile(ctx, cu, edit.Profile, sens, now)
	var taken *store.ContactTakenError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrVersionConflict):
		return httpx.Conflict("The customer changed meanwhile; reload and try again.")
	case errors.As(err, &taken):
		if aerr := c.acc.RecordAttempt(ctx, p, taken.Owner, auditContactConflict, []string{taken.Field}, request(req)); aerr != nil {
			c.log.ErrorContext(ctx, "audit entry not written", "action", auditContactConflict, "err", aerr)
		}
		ok, wait, lerr := c.limits.Allow(ctx, contactConflicts, p.Sub, now)
		if lerr != nil {
			return lerr
		}
		if !ok {
			return httpx.TooManyRequests(wait)
		}
		return httpx.Conflict("The phone or e-mail belongs to another customer.").Wrap(store.ErrContactTaken)
	case errors.Is(err, store.ErrContactTaken):
		return httpx.Conflict("The phone or e-mail belongs to another customer.").Wrap(store.ErrContactTaken)
	}
	return err
}

func (c *customers) timeline(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	cu, err := c.resolve(ctx, req, access.ReadCustomer)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	out, err := c.desk.Timeline(ctx, cu)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	c.record(ctx, req, cu, "read-timeline", nil)
	return httpx.JSON(http.StatusOK, map[string]any{"customerId": cu.ID(), "entries": timelineJSON(out)}), nil
}

// export is a data-subject request: everything held about the person, as JSON.
func (c *customers) export(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	cu, err := c.resolve(ctx, req, access.ExportCustomer)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	d, err := c.detail(ctx, cu, cu.View())
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if d.Touches, err = c.desk.Touches(ctx, cu); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	c.record(ctx, req, cu, "export", []string{"profile", "touches", "sensitive"})
	resp := httpx.JSON(http.StatusOK, map[string]any{"exportedAt": c.now().UTC(), "customer": d})
	resp.Headers["Content-Disposition"] = `attachment; filename="customer-` + cu.ID() + `.json"`
	resp.Headers["Cache-Control"] = "no-store"
	return resp, nil
}

func (c *customers) erase(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	cu, err := c.resolve(ctx, req, access.EraseCustomer)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	now := c.now()
	if _, err := c.desk.Erase(ctx, cu, now); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	res, err := c.desk.Plan(ctx, cu, followup.Trigger{Kind: followup.TriggerErasure, Ref: "erasure", At: now})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	c.record(ctx, req, cu, "erase", []string{"name", "phone", "email", "birthday", "tags", "messages", "consents", "sensitive"})
	c.log.InfoContext(ctx, "customer erased", "customer", cu.ID(), "remindersCancelled", res.Cancelled)
	return httpx.NoContent(), nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/followup"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/seal"
	"github.com/tierflow/tierflow/shared/store"
)

func init() {
	areas = append(areas, func(a *app, r *httpx.Router, e *env.Reader) {
		c := &customers{
			log: a.log, table: a.table, now: a.now,
			rules:  customer.Rules{DefaultRegion: e.Optional("DEFAULT_PHONE_REGION", "CN"), Stores: e.List("STORES")},
			stores: e.List("STORES"),
		}
		// Without a key the sensitive section cannot be opened or written; the rest works.
		if w, err := seal.WrapperFor(a.cfg, e.Optional("SEAL_KEY_ID", "")); err == nil {
			c.sealer = &seal.Sealer{Wrapper: w}
		} else {
			a.log.Warn("sensitive section unavailable", "err", err)
		}
		planner, err := store.NewPlanner(a.table, a.now)
		boot.Check(a.log, "follow-up policy", err)
		c.planner = planner
		c.routes(r)
	})
}

// erasurePlanner cancels a person's pending reminders (followup/app.Planner with an
// erasure trigger).
type erasurePlanner interface {
	Handle(ctx context.Context, t followup.Trigger) (fapp.PlanResult, error)
}

// customers serves the staff customer routes. Rules live in shared/customer and
// shared/auth; this file reads, checks the caller, calls them, audits and answers.
type customers struct {
	log     *slog.Logger
	table   *store.Table
	now     func() time.Time
	rules   customer.Rules
	stores  []string     // every store, for callers who see all of them
	sealer  *seal.Sealer // nil: the sensitive section cannot be read or written here
	planner erasurePlanner
}

func (c *customers) routes(r *httpx.Router) {
	r.Handle("GET /v1/customers", c.list)
	r.Handle("GET /v1/customers/{id}", c.get)
	r.Handle("PATCH /v1/customers/{id}", c.patch)
	r.Handle("GET /v1/customers/{id}/timeline", c.timeline)
	r.Handle("GET /v1/customers/{id}/export", c.export)
	r.Handle("DELETE /v1/customers/{id}", c.erase)
	r.Handle("GET /v1/audit", c.audit)
}

func (c *customers) record(ctx context.Context, req events.APIGatewayV2HTTPRequest, p auth.Principal, id, action string, fields []string) {
	err := c.table.Audit(ctx, store.AuditEntry{CustomerID: id, At: c.now(), RequestID: httpx.RequestID(req),
		Actor: p.Sub, Role: string(p.Role), SourceIP: httpx.SourceIP(req), Action: action, Fields: fields})
	if err != nil {
		c.log.ErrorContext(ctx, "audit entry not written", "customer", id, "action", action, "err", err)
	}
}

// caller identifies who asks, checks their role when roles are given, and loads the
// customer of the path the caller may see: the opening of every single-customer route.
func (c *customers) caller(ctx context.Context, req events.APIGatewayV2HTTPRequest, roles ...model.Role) (auth.Principal, store.ProfileView, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return p, store.ProfileView{}, err
	}
	if len(roles) > 0 {
		if err := p.Require(roles...); err != nil {
			return p, store.ProfileView{}, err
		}
	}
	view, err := c.load(ctx, p, req.PathParameters["id"])
	return p, view, err
}

// load reads a customer the caller may see; another store's customer is the same 404.
func (c *customers) load(ctx context.Context, p auth.Principal, id string) (store.ProfileView, error) {
	view, err := c.table.GetProfileView(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return view, httpx.NotFound("Customer")
	}
	if err != nil {
		return view, err
	}
	if err := p.CheckCustomerStore(view.Store); err != nil {
		return view, err
	}
	return view, nil
}

type listPage struct {
	Items      []customer.Summary `json:"items"`
	NextCursor string             `json:"nextCursor,omitempty"`
}

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
	st, err := storeParam(p, q["store"], c.stores)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	limit, err := limitParam(q)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	ps, next, err := c.table.ListCustomers(ctx, store.ListQuery{Store: st, Tier: q["tier"], Stage: q["stage"],
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
	id, found, err := c.table.CustomerByContact(ctx, phone, email)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if found {
		view, err := c.load(ctx, p, id)
		switch {
		case httpx.StatusOf(err) == http.StatusNotFound:
		case err != nil:
			return events.APIGatewayV2HTTPResponse{}, err
		default:
			page.Items = append(page.Items, view.Summary(p.Role))
		}
	}
	return httpx.JSON(http.StatusOK, page), nil
}

// detail is the full view: contact in clear (the read is audited), the sensitive section
// only for roles that may read it, the tier explanation when tiering wrote one.
type detail struct {
	store.ProfileView
	Sensitive *customer.Sensitive `json:"sensitive,omitempty"`
	Touches   []store.TouchItem   `json:"touchItems,omitempty"`
}

// detail adds what the caller's role may see to the profile: tier explanation, the
// churn/CLV prediction and aggregates for everyone, the sensitive section for clinicians
// and admins.
func (c *customers) detail(ctx context.Context, p auth.Principal, view store.ProfileView) (detail, error) {
	d := detail{ProfileView: view}
	if p.Role.CanReadSensitive() {
		s, err := c.openSensitive(ctx, view.ID)
		if err != nil {
			return d, err
		}
		if !s.IsZero() {
			d.Sensitive = &s
		}
	}
	return d, nil
}

func (c *customers) openSensitive(ctx context.Context, id string) (customer.Sensitive, error) {
	var s customer.Sensitive
	env, found, err := c.table.GetSensitive(ctx, id)
	if err != nil || !found {
		return s, err
	}
	if c.sealer == nil {
		return s, fmt.Errorf("open sensitive section: no key configured")
	}
	if err := c.sealer.OpenJSON(ctx, env, id, &s); err != nil {
		return s, fmt.Errorf("open sensitive section of %s: %w", id, err)
	}
	return s, nil
}

func (c *customers) get(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, prof, err := c.caller(ctx, req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	d, err := c.detail(ctx, p, prof)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	fields := []string{"profile"}
	if d.Sensitive != nil {
		fields = append(fields, customer.SensitiveFields...)
	}
	c.record(ctx, req, p, prof.ID, "read", fields)
	return httpx.JSON(http.StatusOK, d), nil
}

func (c *customers) patch(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var body map[string]json.RawMessage
	if err := httpx.DecodeJSON(req, &body, 0); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	view, err := c.load(ctx, p, req.PathParameters["id"])
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	prof, v := view.Profile, view.Version
	touchesSensitive := slices.ContainsFunc(customer.SensitiveFields, func(f string) bool { _, ok := body[f]; return ok })
	var sens customer.Sensitive
	if touchesSensitive && p.Role.CanReadSensitive() {
		if sens, err = c.openSensitive(ctx, prof.ID); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
	}
	now := c.now()
	edit, err := c.rules.ApplyPatch(prof, sens, p.Role, body, p.Sub, now)
	if errors.Is(err, customer.ErrErased) {
		return events.APIGatewayV2HTTPResponse{}, httpx.Conflict("The customer's data was erased.")
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var extra []types.TransactWriteItem
	if touchesSensitive && slices.ContainsFunc(edit.Changed, func(f string) bool { return slices.Contains(customer.SensitiveFields, f) }) {
		if edit.Sensitive.IsZero() {
			extra = append(extra, c.table.DeleteSensitiveItem(prof.ID))
		} else {
			if c.sealer == nil {
				return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("seal sensitive section: no key configured")
			}
			env, err := c.sealer.SealJSON(ctx, edit.Sensitive, prof.ID)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			put, err := c.table.PutSensitiveItem(prof.ID, env, now)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			extra = append(extra, put)
		}
	}
	if len(edit.Changed) > 0 {
		err = c.table.SaveProfile(ctx, prof, v, edit.Profile, extra...)
		switch {
		case errors.Is(err, store.ErrVersionConflict):
			return events.APIGatewayV2HTTPResponse{}, httpx.Conflict("The customer changed meanwhile; reload and try again.")
		case errors.Is(err, store.ErrContactTaken):
			return events.APIGatewayV2HTTPResponse{}, httpx.Conflict("The phone or e-mail belongs to another customer.").Wrap(err)
		case err != nil:
			return events.APIGatewayV2HTTPResponse{}, err
		}
		c.record(ctx, req, p, prof.ID, "update", edit.Changed)
	}
	view.Profile = edit.Profile
	d, err := c.detail(ctx, p, view)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return httpx.JSON(http.StatusOK, d), nil
}

// timelineEntry is one item of the customer's partition, by kind.
type timelineEntry struct {
	Kind string         `json:"kind"`
	At   string         `json:"at,omitempty"`
	Item map[string]any `json:"item"`
}

// timelineKinds maps sort-key prefixes of the customer partition to what staff see.
// Reminders are kept apart (REM#<id>) with a pointer here, and are read in one batch.
var timelineKinds = map[string]string{"TOUCH#": "touch", "TXN#": "transaction", "TIER#": "tier_change"}

func (c *customers) timeline(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, prof, err := c.caller(ctx, req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	items, err := c.table.QueryPartition(ctx, store.CustomerPK(prof.ID), "")
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	out := []timelineEntry{}
	var reminderIDs []string
	for _, it := range items {
		sk, _ := it["SK"].(*types.AttributeValueMemberS)
		if sk == nil {
			continue
		}
		if id, ok := strings.CutPrefix(sk.Value, "REM#"); ok {
			reminderIDs = append(reminderIDs, id) // a pointer: the reminder lives in its own item
			continue
		}
		kind := ""
		for prefix, k := range timelineKinds {
			if strings.HasPrefix(sk.Value, prefix) {
				kind = k
			}
		}
		if kind == "" {
			continue // profile, sensitive section, counters: not timeline events
		}
		var m map[string]any
		if err := attributevalue.UnmarshalMap(it, &m); err != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("decode timeline item: %w", err)
		}
		for _, k := range []string{"PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK"} {
			delete(m, k)
		}
		at := ""
		if parts := strings.SplitN(sk.Value, "#", 3); len(parts) >= 2 {
			at = parts[1]
		}
		out = append(out, timelineEntry{Kind: kind, At: at, Item: m})
	}
	reminders, err := c.table.RemindersByID(ctx, reminderIDs)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	for _, r := range reminders {
		kind := "message"
		if r.Task != nil {
			kind = "task"
		}
		out = append(out, timelineEntry{Kind: kind, At: r.PlannedAt.UTC().Format("2006-01-02T15:04:05.000Z"), Item: map[string]any{
			"id": r.ID, "rule": r.RuleID, "trigger": r.Trigger, "channel": r.Channel, "category": r.Category, "template": r.Template,
			"status": r.Status, "dueAt": r.DueAt, "sentAt": r.SentAt, "skipReason": r.SkipReason, "task": r.Task,
		}})
	}
	slices.SortStableFunc(out, func(a, b timelineEntry) int { return strings.Compare(a.At, b.At) })
	c.record(ctx, req, p, prof.ID, "read-timeline", nil)
	return httpx.JSON(http.StatusOK, map[string]any{"customerId": prof.ID, "entries": out}), nil
}

// export is a data-subject request: everything held about the person, as JSON.
func (c *customers) export(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, prof, err := c.caller(ctx, req, model.RoleAdmin)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	d, err := c.detail(ctx, p, prof)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if d.Touches, err = c.table.Touches(ctx, prof.ID); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	c.record(ctx, req, p, prof.ID, "export", []string{"profile", "touches", "sensitive"})
	resp := httpx.JSON(http.StatusOK, map[string]any{"exportedAt": c.now().UTC(), "customer": d})
	resp.Headers["Content-Disposition"] = `attachment; filename="customer-` + prof.ID + `.json"`
	resp.Headers["Cache-Control"] = "no-store"
	return resp, nil
}

func (c *customers) erase(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, prof, err := c.caller(ctx, req, model.RoleAdmin)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	now := c.now()
	if _, err := c.table.EraseCustomer(ctx, prof.ID, now); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	cancelled := 0
	if c.planner != nil {
		res, err := c.planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerErasure, CustomerID: prof.ID, Ref: "erasure", At: now})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("cancel reminders of erased %s: %w", prof.ID, err)
		}
		cancelled = res.Cancelled
	}
	c.record(ctx, req, p, prof.ID, "erase", []string{"name", "phone", "email", "birthday", "tags", "messages", "consents", "sensitive"})
	c.log.InfoContext(ctx, "customer erased", "customer", prof.ID, "remindersCancelled", cancelled)
	return httpx.NoContent(), nil
}

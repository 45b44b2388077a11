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
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/store"
)

// newCustomerImport builds POST /v1/customers over the app's access layer and desk.
func newCustomerImport(a *app, e *env.Reader) *customerImport {
	return &customerImport{log: a.log, acc: a.acc, desk: a.desk, limits: a.limits, now: a.now,
		rules:  customer.Rules{DefaultRegion: e.Optional("DEFAULT_PHONE_REGION", "CN"), Stores: e.List("STORES")},
		stores: e.List("STORES")}
}

// importDesk is what POST /v1/customers does with what acc resolved (store.Staff).
type importDesk interface {
	CustomerByRef(ctx context.Context, st access.Store, number string) (string, bool, error)
	CreateCustomer(ctx context.Context, st access.Store, lead customer.Lead, number string) (string, error)
	AttachRef(ctx context.Context, c access.Customer, number string) error
	SaveProfile(ctx context.Context, c access.Customer, next customer.Profile, sens *customer.Sensitive, at time.Time) error
}

// customerImport serves POST /v1/customers: one row of the business's own customer list
// lands on its one profile. The store's customer with the row's number, else the one
// with its phone or e-mail, gains what the profile lacks (merged); nothing stored is
// overwritten (a differing value is listed as kept). Nobody found: a new customer. The
// same row posted again changes nothing (unchanged), so an import can be re-run.
type customerImport struct {
	log    *slog.Logger
	acc    *access.Layer
	desk   importDesk
	limits limiter
	now    func() time.Time
	rules  customer.Rules
	stores []string
}

// customerIn is one customer as a business's list has it.
type customerIn struct {
	Store    string   `json:"store"`
	Ref      string   `json:"ref"`
	Name     string   `json:"name"`
	Phone    string   `json:"phone"`
	Email    string   `json:"email"`
	Birthday string   `json:"birthday"`
	Tags     []string `json:"tags"`
}

// Outcomes of POST /v1/customers.
const (
	importCreated   = "created"   // a new customer (201)
	importMerged    = "merged"    // an existing customer gained fields or the number
	importUnchanged = "unchanged" // an existing customer who already had all of it
)

// CustomerImported is the answer: who the row is and what happened (or, with
// ?dryRun=true, would happen; no id for a customer who would be created).
type CustomerImported struct {
	ID      string   `json:"id,omitempty"`
	Status  string   `json:"status"`
	Changed []string `json:"changed,omitempty"` // fields filled in (and "ref" when the number was attached)
	Kept    []string `json:"kept,omitempty"`    // fields whose stored value differs from the row's and stays
	DryRun  bool     `json:"dryRun,omitempty"`
}

// auditImport is the action written on a customer an import created or merged into.
const auditImport = "import"

func (h *customerImport) post(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	dry := false
	for k, v := range req.QueryStringParameters {
		switch {
		case k != "dryRun":
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest(k, "is not a known parameter")
		case v == "true":
			dry = true
		case v != "false":
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("dryRun", "must be true or false")
		}
	}
	if err := access.Require(p, access.CreateCustomers); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var in customerIn
	if err := httpx.DecodeJSON(req, &in, 0); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	storeID := strings.TrimSpace(in.Store)
	if storeID != "" && len(h.stores) > 0 && !slices.Contains(h.stores, storeID) {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("store", "is not a known store")
	}
	st, err := h.acc.Store(p, storeID, h.stores, access.CreateCustomers)
	if httpx.StatusOf(err) == http.StatusNotFound {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("store", "not one of the stores your token covers")
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	now := h.now()
	want, ref, err := h.validate(in, st, p, now)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	// A number created by a concurrent import between the lookup and the create: the
	// second round finds it.
	for attempt := 0; ; attempt++ {
		out, err := h.land(ctx, req, p, st, ref, want, dry, now)
		if errors.Is(err, access.ErrTaken) && attempt == 0 {
			continue
		}
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		status := http.StatusOK
		if out.Status == importCreated && !dry {
			status = http.StatusCreated
		}
		resp := httpx.JSON(status, out)
		if status == http.StatusCreated {
			resp.Headers["Location"] = "/v1/customers/" + out.ID
		}
		return resp, nil
	}
}

// validate checks the row like a staff edit of a new profile (the same field rules as
// PATCH) and the number like a transaction's customer.ref.
func (h *customerImport) validate(in customerIn, st access.Store, p auth.Principal, now time.Time) (customer.Profile, string, error) {
	var errs []httpx.FieldError
	ref := strings.TrimSpace(in.Ref)
	switch {
	case len(ref) > 100:
		errs = append(errs, httpx.FieldError{Field: "ref", Reason: "at most 100 characters"})
	case strings.ContainsAny(ref, "#\n\r\t"):
		errs = append(errs, httpx.FieldError{Field: "ref", Reason: "must not contain '#' or control characters"})
	}
	fields := map[string]json.RawMessage{}
	for k, v := range map[string]string{"name": in.Name, "phone": in.Phone, "email": in.Email, "birthday": in.Birthday} {
		if strings.TrimSpace(v) != "" {
			fields[k], _ = json.Marshal(v) // a string: cannot fail
		}
	}
	if len(in.Tags) > 0 {
		fields["tags"], _ = json.Marshal(in.Tags)
	}
	edit, err := h.rules.ApplyPatch(customer.Profile{Store: st.ID()}, customer.Sensitive{}, p.Role, fields, p.Sub, now)
	var fe customer.FieldErrors
	switch {
	case errors.As(err, &fe):
		fe.EachField(func(f, r string) { errs = append(errs, httpx.FieldError{Field: f, Reason: r}) })
	case err != nil:
		return customer.Profile{}, "", err
	}
	if len(errs) == 0 && ref == "" && edit.Profile.Phone == "" && edit.Profile.Email == "" {
		errs = append(errs, httpx.FieldError{Field: "ref",
			Reason: "give the customer's number (ref), phone or email: without one, importing the list again could not find them"})
	}
	if len(errs) > 0 {
		return customer.Profile{}, "", httpx.Invalid(errs...)
	}
	return edit.Profile, ref, nil
}

// conflict is a 409 naming the field whose value belongs to someone else.
func conflict(field, reason string) error {
	e := httpx.Conflict("The row names a customer the store already has differently; fix the row, or the stored customer, and post it again.")
	e.Fields = []httpx.FieldError{{Field: field, Reason: reason}}
	return e
}

// land finds the row's customer (by number, then by phone and e-mail) and merges into
// them, or creates them.
func (h *customerImport) land(ctx context.Context, req events.APIGatewayV2HTTPRequest, p auth.Principal, st access.Store, ref string, want customer.Profile, dry bool, now time.Time) (CustomerImported, error) {
	var target access.Customer
	found, byRef := false, false
	if ref != "" {
		id, ok, err := h.desk.CustomerByRef(ctx, st, ref)
		if err != nil {
			return CustomerImported{}, err
		}
		if ok {
			cu, err := h.acc.Customer(ctx, p, id, access.CreateCustomers)
			if httpx.StatusOf(err) == http.StatusNotFound {
				return CustomerImported{}, conflict("ref", "belongs to a customer who has moved to another store")
			}
			if err != nil {
				return CustomerImported{}, err
			}
			if cu.View().Store != st.ID() {
				return CustomerImported{}, conflict("ref", "belongs to a customer who has moved to another store")
			}
			target, found, byRef = cu, true, true
		}
	}
	for _, c := range []struct{ field, phone, email string }{{"phone", want.Phone, ""}, {"email", "", want.Email}} {
		if c.phone == "" && c.email == "" {
			continue
		}
		cu, ok, err := h.acc.CustomerByContact(ctx, p, c.phone, c.email, access.CreateCustomers)
		if err != nil {
			return CustomerImported{}, err
		}
		switch {
		case !ok:
		case found && cu.ID() != target.ID():
			return CustomerImported{}, conflict(c.field, "belongs to another customer than the row's other fields")
		case cu.View().Store != st.ID():
			return CustomerImported{}, conflict(c.field, "belongs to a customer of another store")
		case !found:
			target, found = cu, true
		}
	}
	if !found {
		return h.create(ctx, req, p, st, ref, want, dry, now)
	}
	return h.merge(ctx, req, target, ref, !byRef && ref != "", want, dry, now)
}

func (h *customerImport) create(ctx context.Context, req events.APIGatewayV2HTTPRequest, p auth.Principal, st access.Store, ref string, want customer.Profile, dry bool, now time.Time) (CustomerImported, error) {
	if dry {
		return CustomerImported{Status: importCreated, DryRun: true}, nil
	}
	if want.Phone != "" || want.Email != "" {
		// Like a staff edit: once a caller has hit too many contacts that are someone
		// else's, no contact is answered at all for a while.
		if spent, wait, err := h.limits.Exhausted(ctx, contactConflicts, p.Sub, now); err != nil {
			return CustomerImported{}, err
		} else if spent {
			return CustomerImported{}, httpx.TooManyRequests(wait)
		}
	}
	lead := customer.Lead{Name: want.Name, Phone: want.Phone, Email: want.Email, Birthday: want.Birthday,
		Submission: customer.Submission{At: now, Channel: "import"}}
	id, err := h.desk.CreateCustomer(ctx, st, lead, ref)
	if err != nil {
		return CustomerImported{}, h.taken(ctx, req, p, err, now)
	}
	cu, err := h.acc.Customer(ctx, p, id, access.CreateCustomers)
	if err != nil {
		return CustomerImported{}, err
	}
	changed := []string{}
	for k, v := range map[string]string{"name": want.Name, "phone": want.Phone, "email": want.Email, "birthday": want.Birthday, "ref": ref} {
		if v != "" {
			changed = append(changed, k)
		}
	}
	if len(want.Tags) > 0 {
		// A lead carries no tags: they are the customer's first edit.
		next := cu.View().Profile
		next.Tags = slices.Clone(want.Tags)
		if err := h.desk.SaveProfile(ctx, cu, next, nil, now); err != nil {
			return CustomerImported{}, err
		}
		changed = append(changed, "tags")
	}
	slices.Sort(changed)
	h.record(ctx, req, cu, changed)
	return CustomerImported{ID: id, Status: importCreated, Changed: changed}, nil
}

// merge fills what the customer's profile lacks from the row and attaches the number;
// a stored value that differs from the row's is kept and named.
func (h *customerImport) merge(ctx context.Context, req events.APIGatewayV2HTTPRequest, cu access.Customer, ref string, attach bool, want customer.Profile, dry bool, now time.Time) (CustomerImported, error) {
	have := cu.View().Profile
	if have.Erased() {
		return CustomerImported{}, httpx.Conflict("The customer's data was erased.")
	}
	fill := map[string]json.RawMessage{}
	var kept []string
	for _, f := range []struct{ k, have, want string }{
		{"name", have.Name, want.Name}, {"phone", have.Phone, want.Phone},
		{"email", have.Email, want.Email}, {"birthday", have.Birthday, want.Birthday},
	} {
		switch {
		case f.want == "" || f.want == f.have:
		case f.have == "":
			fill[f.k], _ = json.Marshal(f.want) // a string: cannot fail
		default:
			kept = append(kept, f.k)
		}
	}
	tags := slices.Clone(have.Tags)
	for _, t := range want.Tags {
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if len(tags) > len(have.Tags) {
		fill["tags"], _ = json.Marshal(tags) // strings: cannot fail
	}
	edit, err := h.rules.ApplyPatch(have, customer.Sensitive{}, cu.Caller().Role, fill, cu.Caller().Sub, now)
	if err != nil {
		return CustomerImported{}, err
	}
	out := CustomerImported{ID: cu.ID(), Status: importUnchanged, Kept: kept, DryRun: dry}
	out.Changed = slices.Clone(edit.Changed)
	if attach {
		out.Changed = append(out.Changed, "ref")
	}
	slices.Sort(out.Changed)
	if len(out.Changed) == 0 {
		return out, nil
	}
	out.Status = importMerged
	if dry {
		return out, nil
	}
	if slices.Contains(edit.Changed, "phone") || slices.Contains(edit.Changed, "email") {
		if spent, wait, err := h.limits.Exhausted(ctx, contactConflicts, cu.Caller().Sub, now); err != nil {
			return CustomerImported{}, err
		} else if spent {
			return CustomerImported{}, httpx.TooManyRequests(wait)
		}
	}
	// The number first: it leaves the profile's version alone, so the edit read with the
	// grant still applies after it.
	if attach {
		err := h.desk.AttachRef(ctx, cu, ref)
		switch {
		case errors.Is(err, store.ErrRefTaken):
			return CustomerImported{}, conflict("ref", "belongs to another customer")
		case errors.Is(err, store.ErrHasRef):
			return CustomerImported{}, conflict("ref", "the customer with this phone or e-mail already has another customer number")
		case err != nil:
			return CustomerImported{}, err
		}
	}
	if len(edit.Changed) > 0 {
		err := h.desk.SaveProfile(ctx, cu, edit.Profile, nil, now)
		switch {
		case errors.Is(err, store.ErrVersionConflict):
			return CustomerImported{}, httpx.Conflict("The customer changed meanwhile; post the row again.")
		case err != nil:
			return CustomerImported{}, h.taken(ctx, req, cu.Caller(), err, now)
		}
	}
	h.record(ctx, req, cu, out.Changed)
	return out, nil
}

// taken answers a phone or e-mail that is someone else's — a customer of a store the
// caller may not see, or one taken meanwhile — like a staff edit: the same 409 without
// saying whose, written to that customer's log and counted against the caller. Other
// errors pass through.
func (h *customerImport) taken(ctx context.Context, req events.APIGatewayV2HTTPRequest, p auth.Principal, err error, now time.Time) error {
	var taken *store.ContactTakenError
	if !errors.As(err, &taken) {
		if errors.Is(err, store.ErrContactTaken) {
			return httpx.Conflict("The phone or e-mail belongs to another customer.").Wrap(err)
		}
		return err
	}
	if aerr := h.acc.RecordAttempt(ctx, p, taken.Owner, auditContactConflict, []string{taken.Field}, request(req)); aerr != nil {
		h.log.ErrorContext(ctx, "audit entry not written", "action", auditContactConflict, "err", aerr)
	}
	if ok, wait, lerr := h.limits.Allow(ctx, contactConflicts, p.Sub, now); lerr != nil {
		return lerr
	} else if !ok {
		return httpx.TooManyRequests(wait)
	}
	return conflict(taken.Field, "belongs to another customer")
}

func (h *customerImport) record(ctx context.Context, req events.APIGatewayV2HTTPRequest, cu access.Customer, fields []string) {
	if err := h.acc.Record(ctx, cu, auditImport, fields, request(req)); err != nil {
		h.log.ErrorContext(ctx, "audit entry not written", "customer", cu.ID(), "action", auditImport, "err", err)
	}
}

package access

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/followup"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/httpx"
)

// Customers is what the layer reads of customers (store.Table implements it).
type Customers interface {
	// CustomerView reads one profile; found=false when there is none.
	CustomerView(ctx context.Context, id string) (customer.View, bool, error)
	// CustomerByContact finds who a phone (E.164) or e-mail belongs to, business-wide.
	CustomerByContact(ctx context.Context, phoneE164, email string) (string, bool, error)
}

// Tasks reads one reminder; fapp.ErrNotFound when there is none (store.Reminders).
type Tasks interface {
	Get(ctx context.Context, id string) (followup.Reminder, error)
}

// AuditLog appends an entry to a customer's audit log.
type AuditLog interface {
	Audit(ctx context.Context, e customer.AuditEntry) error
}

// Ports are the layer's ports; Txn may be nil where no transactions are posted.
type Ports struct {
	Customers Customers
	Tasks     Tasks
	Audit     AuditLog
	Txn       TxnPorts
}

// Layer resolves what staff requests name. Build it once per cold start.
type Layer struct {
	p   Ports
	now func() time.Time
}

// New returns a layer over ports; now is the clock of audit entries.
func New(p Ports, now func() time.Time) *Layer {
	if now == nil {
		now = time.Now
	}
	return &Layer{p: p, now: now}
}

// Request is what an audit entry keeps of the request that caused it.
type Request struct {
	ID       string // the API Gateway request id
	SourceIP string
}

// Customer resolves the customer id names for p, who wants to do act. Another store's
// customer, a malformed id and an id nobody has are the same 404 (C1).
func (l *Layer) Customer(ctx context.Context, p auth.Principal, id string, act Action) (Customer, error) {
	if err := Require(p, act); err != nil {
		return Customer{}, err
	}
	if !ValidID(id) {
		return Customer{}, NotFound("Customer")
	}
	v, found, err := l.p.Customers.CustomerView(ctx, id)
	if err != nil {
		return Customer{}, fmt.Errorf("resolve customer: %w", err)
	}
	if !found || v.ID == "" || !p.CanSeeStore(v.Store) {
		return Customer{}, NotFound("Customer")
	}
	return Customer{view: v, caller: p}, nil
}

// CustomerByContact resolves the customer a phone or e-mail belongs to, if p may see
// them; a customer of a store p does not cover is found=false, exactly like nobody.
func (l *Layer) CustomerByContact(ctx context.Context, p auth.Principal, phoneE164, email string, act Action) (Customer, bool, error) {
	if err := Require(p, act); err != nil {
		return Customer{}, false, err
	}
	id, found, err := l.p.Customers.CustomerByContact(ctx, phoneE164, email)
	if err != nil || !found {
		return Customer{}, false, err
	}
	c, err := l.Customer(ctx, p, id, act)
	if httpx.StatusOf(err) == http.StatusNotFound {
		return Customer{}, false, nil
	}
	return c, err == nil, err
}

// Task resolves a staff task; a reminder that is not a task, another store's task and an
// unknown id are the same 404.
func (l *Layer) Task(ctx context.Context, p auth.Principal, id string, act Action) (Task, error) {
	if err := Require(p, act); err != nil {
		return Task{}, err
	}
	if !ValidID(id) {
		return Task{}, NotFound("Task")
	}
	r, err := l.p.Tasks.Get(ctx, id)
	if errors.Is(err, fapp.ErrNotFound) {
		return Task{}, NotFound("Task")
	}
	if err != nil {
		return Task{}, fmt.Errorf("resolve task: %w", err)
	}
	if !r.IsTask() || !p.CanSeeStore(r.Store) {
		return Task{}, NotFound("Task")
	}
	return Task{r: r, caller: p}, nil
}

// Store resolves the store a list is about: the one asked for, else the caller's only
// store (or the business's only store for a caller who sees all). A store the caller does
// not cover, or a name no store could have, is "not found", never "forbidden".
func (l *Layer) Store(p auth.Principal, requested string, known []string, act Action) (Store, error) {
	if err := Require(p, act); err != nil {
		return Store{}, err
	}
	st := requested
	if st == "" {
		mine, all := p.StoreFilter()
		switch {
		case len(mine) == 1:
			st = mine[0]
		case all && len(known) == 1:
			st = known[0]
		default:
			return Store{}, httpx.BadRequest("store", "name the store")
		}
	}
	if !ValidID(st) || !p.CanSeeStore(st) {
		return Store{}, NotFound("Store")
	}
	return Store{id: st, caller: p}, nil
}

// TaskList resolves a task list: the caller's own tasks ("mine"), or one store's.
func (l *Layer) TaskList(p auth.Principal, mine bool, requested string, known []string) (TaskScope, error) {
	if mine {
		if err := Require(p, WorkTasks); err != nil {
			return TaskScope{}, err
		}
		return TaskScope{assignee: p.Sub, caller: p}, nil
	}
	s, err := l.Store(p, requested, known, WorkTasks)
	if err != nil {
		return TaskScope{}, err
	}
	return TaskScope{store: s.id, caller: p}, nil
}

// Scope resolves what a report or run answers for: the store asked for (which p must
// cover), else every store p covers (C3).
func (l *Layer) Scope(p auth.Principal, requested string, act Action) (Scope, error) {
	if err := Require(p, act); err != nil {
		return Scope{}, err
	}
	if requested == "" {
		return scopeOf(p), nil
	}
	if !ValidID(requested) || !p.CanSeeStore(requested) {
		return Scope{}, NotFound("Store")
	}
	return Scope{stores: []string{requested}}, nil
}

// Run resolves a re-tier run id ("" for the latest finished run) for p, with the scope
// it will be answered in. A malformed id is the run-not-found 404.
func (l *Layer) Run(p auth.Principal, id, requestedStore string, act Action) (Run, error) {
	s, err := l.Scope(p, requestedStore, act)
	if err != nil {
		return Run{}, err
	}
	if id != "" && !ValidID(id) {
		return Run{}, NotFound("Run")
	}
	return Run{id: id, scope: s}, nil
}

// Record appends an entry to the audit log of a customer the caller resolved.
func (l *Layer) Record(ctx context.Context, c Customer, action string, fields []string, req Request) error {
	if c.ID() == "" {
		return fmt.Errorf("audit: no customer")
	}
	return l.record(ctx, c.caller, c.ID(), action, fields, req)
}

// RecordAttempt appends to the audit log of a customer the caller could not be shown — a
// contact of theirs that a staff member tried to use — so the owner's log says who tried.
// Nothing about the customer is returned.
func (l *Layer) RecordAttempt(ctx context.Context, p auth.Principal, customerID, action string, fields []string, req Request) error {
	if !ValidID(customerID) {
		return fmt.Errorf("audit: invalid customer id")
	}
	return l.record(ctx, p, customerID, action, fields, req)
}

func (l *Layer) record(ctx context.Context, p auth.Principal, id, action string, fields []string, req Request) error {
	return l.p.Audit.Audit(ctx, customer.AuditEntry{CustomerID: id, At: l.now(), RequestID: req.ID,
		Actor: p.Sub, Role: p.AuditRole(), SourceIP: req.SourceIP, Action: action, Fields: fields})
}

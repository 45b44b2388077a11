package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/seal"
)

// Staff is the store side of the staff API. Every read or write of something a request
// names takes the grant shared/access resolved for it (access.Customer, access.Task,
// access.Store, access.TaskScope, access.Run, access.Scope): a route cannot reach a
// customer, task, audit log, run or report it did not resolve, because it has nothing
// else to pass.
type Staff struct {
	t *Table
	d StaffDeps
}

// StaffDeps are what the staff desk works through besides the table: the follow-up
// services a request sets in motion (built by the function's wiring), the task lists and
// the staff directory, and the key of the sealed section.
type StaffDeps struct {
	Tasks     *app.Tasks      // completes and reassigns tasks
	Planner   *app.Planner    // plans follow-up for a resolved customer
	Reminders *Reminders      // the task lists
	Directory *StaffDirectory // who may take a task; callers are registered in it
	Sealer    *seal.Sealer    // nil: the sealed section can be neither opened nor written
}

// NewStaff returns the staff desk over t; without Reminders or a Directory it makes its
// own over t.
func NewStaff(t *Table, d StaffDeps) *Staff {
	if d.Reminders == nil {
		d.Reminders = NewReminders(t)
	}
	if d.Directory == nil {
		d.Directory = NewStaffDirectory(t, nil)
	}
	return &Staff{t: t, d: d}
}

// errNoGrant is a zero grant: the layer never hands one out, so it is a bug.
var errNoGrant = errors.New("store: no access grant")

// ErrNoKey: the sealed section cannot be opened or written without a key.
var ErrNoKey = errors.New("store: no key for the sensitive section")

// Sensitive opens the customer's sealed section, zero when the caller may not read it
// or none was written.
func (s *Staff) Sensitive(ctx context.Context, c access.Customer) (customer.Sensitive, error) {
	var out customer.Sensitive
	if c.ID() == "" {
		return out, errNoGrant
	}
	if !c.MayReadSensitive() {
		return out, nil
	}
	env, found, err := s.t.GetSensitive(ctx, c.ID())
	if err != nil || !found {
		return out, err
	}
	if s.d.Sealer == nil {
		return out, fmt.Errorf("open sensitive section: %w", ErrNoKey)
	}
	if err := s.d.Sealer.OpenJSON(ctx, env, c.ID(), &out); err != nil {
		return out, fmt.Errorf("open sensitive section of %s: %w", c.ID(), err)
	}
	return out, nil
}

// ContactTakenError is ErrContactTaken with whom the contact belongs to, so the caller
// can write the attempt to that customer's audit log; it is never shown to anyone.
type ContactTakenError struct {
	Field string // "phone" or "email"
	Owner string // the customer who holds it
}

func (e *ContactTakenError) Error() string {
	return "store: the " + e.Field + " belongs to another customer"
}

// Is makes errors.Is(err, ErrContactTaken) hold.
func (e *ContactTakenError) Is(target error) bool { return target == ErrContactTaken }

// SaveProfile writes a staff edit of a resolved customer, conditioned on the version the
// grant was read at. sens, when not nil, is the new sealed section (zero: removed), which
// only a caller who may read it can write; it goes in the same transaction. A phone or
// e-mail of another customer is a *ContactTakenError naming them.
func (s *Staff) SaveProfile(ctx context.Context, c access.Customer, next customer.Profile, sens *customer.Sensitive, at time.Time) error {
	if c.ID() == "" || next.ID != c.ID() {
		return errNoGrant
	}
	prev := c.View()
	var extra []types.TransactWriteItem
	if sens != nil {
		if !c.MayReadSensitive() {
			return fmt.Errorf("save sensitive section: the caller may not write it")
		}
		if sens.IsZero() {
			extra = append(extra, s.t.deleteSensitive(c.ID()))
		} else {
			if s.d.Sealer == nil {
				return fmt.Errorf("seal sensitive section: %w", ErrNoKey)
			}
			env, err := s.d.Sealer.SealJSON(ctx, *sens, c.ID())
			if err != nil {
				return err
			}
			put, err := s.t.putSensitive(c.ID(), env, at)
			if err != nil {
				return err
			}
			extra = append(extra, put)
		}
	}
	for attempt := 0; ; attempt++ {
		err := s.t.saveProfile(ctx, prev.Profile, prev.Version, next, extra...)
		if !errors.Is(err, ErrContactTaken) {
			return err
		}
		freed := false
		for _, k := range []struct {
			field    string
			old, new Key
		}{{"phone", PhoneKey(prev.Phone), PhoneKey(next.Phone)}, {"email", EmailKey(prev.Email), EmailKey(next.Email)}} {
			if k.old == k.new || strings.HasSuffix(k.new.PK, "#") {
				continue
			}
			claims, lerr := s.t.lookupClaims(ctx, k.new)
			if lerr != nil {
				return errors.Join(err, lerr)
			}
			o, ok := claims[k.new.PK]
			if !ok || o.CustomerID == c.ID() {
				continue
			}
			// A creation that died after claiming the contact holds it for nobody.
			released, lerr := s.t.releaseIfDangling(ctx, k.new, o, at)
			if lerr != nil {
				return errors.Join(err, lerr)
			}
			if !released || attempt > 0 {
				return fmt.Errorf("save profile %s: %w", c.ID(), &ContactTakenError{Field: k.field, Owner: o.CustomerID})
			}
			freed = true
		}
		if !freed {
			return err
		}
	}
}

// Erase erases a resolved customer (Table.EraseCustomer).
func (s *Staff) Erase(ctx context.Context, c access.Customer, now time.Time) (customer.Profile, error) {
	if c.ID() == "" {
		return customer.Profile{}, errNoGrant
	}
	return s.t.EraseCustomer(ctx, c.ID(), now)
}

// Plan plans follow-up for a resolved customer: each trigger is about c, whatever
// customer id it carried.
func (s *Staff) Plan(ctx context.Context, c access.Customer, ts ...followup.Trigger) (app.PlanResult, error) {
	var out app.PlanResult
	if c.ID() == "" {
		return out, errNoGrant
	}
	for _, t := range ts {
		t.CustomerID = c.ID()
		res, err := s.d.Planner.Handle(ctx, t)
		if err != nil {
			return out, err
		}
		out.Created = append(out.Created, res.Created...)
		out.Cancelled += res.Cancelled
	}
	return out, nil
}

// Touches are the customer's lead touches, oldest first.
func (s *Staff) Touches(ctx context.Context, c access.Customer) ([]TouchItem, error) {
	if c.ID() == "" {
		return nil, errNoGrant
	}
	return s.t.Touches(ctx, c.ID())
}

// AuditLog is a page of the customer's audit log, newest first.
func (s *Staff) AuditLog(ctx context.Context, c access.Customer, limit int32, cursor string) ([]customer.AuditEntry, string, error) {
	if c.ID() == "" {
		return nil, "", errNoGrant
	}
	return s.t.AuditLog(ctx, c.ID(), limit, cursor)
}

// CustomerFilter narrows a store's customer list (ListQuery without the store).
type CustomerFilter struct {
	Tier, Stage, Tag, LeadGrade string
	Limit                       int32
	Cursor                      string
}

// Customers is a page of the customers of a store the caller may see.
func (s *Staff) Customers(ctx context.Context, st access.Store, f CustomerFilter) ([]customer.Profile, string, error) {
	if st.ID() == "" {
		return nil, "", errNoGrant
	}
	return s.t.ListCustomers(ctx, ListQuery{Store: st.ID(), Tier: f.Tier, Stage: f.Stage, Tag: f.Tag, LeadGrade: f.LeadGrade, Limit: f.Limit, Cursor: f.Cursor})
}

// TaskFilter narrows a task list.
type TaskFilter struct {
	Before time.Time // non-zero: overdue at that time
	Limit  int
	Cursor string
}

// Tasks is a page of open tasks of a list the caller may read. A task of a store the
// caller no longer covers (assigned to them before) is left out of "mine".
func (s *Staff) Tasks(ctx context.Context, ts access.TaskScope, f TaskFilter) ([]followup.Reminder, string, error) {
	if ts.Store() == "" && ts.Assignee() == "" {
		return nil, "", errNoGrant
	}
	rs, next, err := s.d.Reminders.ListTasks(ctx, TaskView{Store: ts.Store(), Assignee: ts.Assignee(), Status: followup.StatusOpen,
		Before: f.Before, Limit: f.Limit, Cursor: f.Cursor})
	if err != nil {
		return nil, "", err
	}
	keep := rs[:0]
	for _, r := range rs {
		if ts.Shows(r.Store) {
			keep = append(keep, r)
		}
	}
	return keep, next, nil
}

// CompleteTask closes a resolved task with an outcome (followup/app.Tasks.Complete).
func (s *Staff) CompleteTask(ctx context.Context, tk access.Task, o followup.Outcome) (app.CompleteResult, error) {
	if tk.ID() == "" {
		return app.CompleteResult{}, errNoGrant
	}
	return s.d.Tasks.Complete(ctx, tk.ID(), tk.Caller().Sub, o)
}

// ReassignTask hands a resolved task to assignee, who must be staff of the task's store
// (or the caller themselves); known=false otherwise and nothing changes.
func (s *Staff) ReassignTask(ctx context.Context, tk access.Task, assignee string) (r followup.Reminder, known bool, err error) {
	if tk.ID() == "" {
		return r, false, errNoGrant
	}
	known = assignee == tk.Caller().Sub
	for _, role := range []model.Role{model.RoleAgent, model.RoleClinician, model.RoleAdmin} {
		if known {
			break
		}
		m, err := s.d.Directory.Members(ctx, tk.Reminder().Store, role)
		if err != nil {
			return r, false, err
		}
		known = slices.Contains(m, assignee)
	}
	if !known {
		return r, false, nil
	}
	r, err = s.d.Tasks.Reassign(ctx, tk.ID(), assignee)
	return r, true, err
}

// RegisterCaller puts the caller in the staff directory of each store they cover, so
// round-robin assignment reaches the people who use tierflow.
func (s *Staff) RegisterCaller(ctx context.Context, p auth.Principal) error {
	if p.SeesAllStores() || p.IsKey() { // a machine is nobody's colleague: no task goes to a key
		return nil
	}
	var errs []error
	for _, st := range p.Stores {
		if err := s.d.Directory.Register(ctx, st, p.Role, p.Sub); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// AtRisk reads the at-risk rows of a store the caller may see (Table.AtRiskRows: as the last run kept them).
func (s *Staff) AtRisk(ctx context.Context, st access.Store) ([]AtRiskRow, error) {
	if st.ID() == "" {
		return nil, errNoGrant
	}
	return s.t.AtRiskRows(ctx, st.ID())
}

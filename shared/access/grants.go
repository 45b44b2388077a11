package access

import (
	"slices"

	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/followup"
)

// Customer is a customer the caller may see, as the Layer resolved it. Only this package
// makes one; the zero value names nobody (ID() == "") and the store refuses it.
type Customer struct {
	view   customer.View
	caller auth.Principal
}

// ID is the customer's id.
func (c Customer) ID() string { return c.view.ID }

// View is the profile as it was read when the customer was resolved.
func (c Customer) View() customer.View { return c.view }

// Caller is who resolved it.
func (c Customer) Caller() auth.Principal { return c.caller }

// MayReadSensitive reports whether the caller may read (and so write) the sealed
// clinical section: property-level authorization, decided here with the rest.
func (c Customer) MayReadSensitive() bool { return c.view.ID != "" && c.caller.Role.CanReadSensitive() }

// MayMoveTo reports whether the caller may put the customer in store: only into a store
// they cover, so no one moves a customer out of their own sight into another store's.
func (c Customer) MayMoveTo(store string) bool {
	return c.view.ID != "" && ValidID(store) && c.caller.CanSeeStore(store)
}

// Task is a staff task of a store the caller may see.
type Task struct {
	r      followup.Reminder
	caller auth.Principal
}

// ID is the task's (reminder's) id.
func (t Task) ID() string { return t.r.ID }

// Reminder is the task as it was read when it was resolved.
func (t Task) Reminder() followup.Reminder { return t.r }

// Caller is who resolved it.
func (t Task) Caller() auth.Principal { return t.caller }

// Store is one store the caller may see: the subject of a list or a store report.
type Store struct {
	id     string
	caller auth.Principal
}

// ID is the store's id.
func (s Store) ID() string { return s.id }

// Caller is who asked.
func (s Store) Caller() auth.Principal { return s.caller }

// Scope is the stores a caller sees: every one, or a list.
type Scope struct {
	all    bool
	stores []string
}

// scopeOf is p's scope (only the layer makes one, after checking the action).
func scopeOf(p auth.Principal) Scope {
	mine, all := p.StoreFilter()
	return Scope{all: all, stores: mine}
}

// All reports whether the scope is every store (the business).
func (s Scope) All() bool { return s.all }

// Stores lists the stores of a scope that is not All.
func (s Scope) Stores() []string { return slices.Clone(s.stores) }

// Has reports whether store is in the scope; a customer without a store is only in All.
func (s Scope) Has(store string) bool {
	if s.all {
		return true
	}
	return store != "" && slices.Contains(s.stores, store)
}

// Run names a re-tier run (a valid id, or "" for the latest finished one) together with
// the scope of the caller reading it: the store answers for that scope only (C3).
type Run struct {
	id    string
	scope Scope
}

// ID is the run id, "" for the latest finished run.
func (r Run) ID() string { return r.id }

// Scope is what the caller may see of the run.
func (r Run) Scope() Scope { return r.scope }

// TaskScope is a task list the caller may read: one store's tasks, or the tasks assigned
// to the caller (only of stores they still cover).
type TaskScope struct {
	store    string
	assignee string
	caller   auth.Principal
}

// Store is the store of a store list, "" for "mine".
func (t TaskScope) Store() string { return t.store }

// Assignee is the caller's own id for "mine", "" for a store list.
func (t TaskScope) Assignee() string { return t.assignee }

// Shows reports whether a task of store belongs in the list.
func (t TaskScope) Shows(store string) bool {
	if t.store == "" && t.assignee == "" {
		return false
	}
	return t.caller.CanSeeStore(store)
}

// Package memstore implements the follow-up ports in memory, with the same conditional
// semantics the DynamoDB adapter has (version-checked updates, create-if-absent, a due
// index holding only reminders with a SweepAt). Tests and the simulation run the real
// services against it; it is safe for concurrent use.
package memstore

import (
	"container/heap"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
)

// Store is every port in one value.
type Store struct {
	mu       sync.Mutex
	rems     map[string]followup.Reminder
	open     map[string]map[string]bool // customer → ids of non-terminal reminders
	due      dueHeap
	views    map[string]followup.CustomerView
	counters map[string]int64
	staff    map[string][]string
	alerts   []app.Alert
	queue    []string
}

// New returns an empty store.
func New() *Store {
	return &Store{
		rems: map[string]followup.Reminder{}, open: map[string]map[string]bool{},
		views: map[string]followup.CustomerView{}, counters: map[string]int64{}, staff: map[string][]string{},
	}
}

var (
	_ app.Reminders = (*Store)(nil)
	_ app.Customers = (*Store)(nil)
	_ app.Counters  = (*Store)(nil)
	_ app.Staff     = (*Store)(nil)
	_ app.Queue     = (*Store)(nil)
	_ app.Alerts    = (*Store)(nil)
)

func clone(r followup.Reminder) followup.Reminder {
	if r.Task != nil {
		t := *r.Task
		r.Task = &t
	}
	r.Tags = slices.Clone(r.Tags)
	return r
}

func (s *Store) index(r followup.Reminder, prevSweep time.Time) {
	if !r.SweepAt.IsZero() && !r.SweepAt.Equal(prevSweep) {
		heap.Push(&s.due, dueEntry{at: r.SweepAt, id: r.ID})
	}
	if r.Status.Terminal() {
		delete(s.open[r.CustomerID], r.ID)
		return
	}
	if s.open[r.CustomerID] == nil {
		s.open[r.CustomerID] = map[string]bool{}
	}
	s.open[r.CustomerID][r.ID] = true
}

// Create implements app.Reminders.
func (s *Store) Create(_ context.Context, rs []followup.Reminder) ([]followup.Reminder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []followup.Reminder
	for _, r := range rs {
		if _, exists := s.rems[r.ID]; exists {
			continue
		}
		r = clone(r)
		r.Version = 1
		s.rems[r.ID] = r
		s.index(r, time.Time{})
		out = append(out, clone(r))
	}
	return out, nil
}

// Get implements app.Reminders.
func (s *Store) Get(_ context.Context, id string) (followup.Reminder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rems[id]
	if !ok {
		return r, app.ErrNotFound
	}
	return clone(r), nil
}

// Update implements app.Reminders.
func (s *Store) Update(_ context.Context, r followup.Reminder) (followup.Reminder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.rems[r.ID]
	if !ok {
		return r, app.ErrNotFound
	}
	if cur.Version != r.Version {
		return cur, app.ErrConflict
	}
	r = clone(r)
	r.Version++
	s.rems[r.ID] = r
	s.index(r, cur.SweepAt)
	return clone(r), nil
}

// DueBefore implements app.Reminders.
func (s *Store) DueBefore(_ context.Context, t time.Time, limit int) ([]followup.Reminder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []followup.Reminder
	var keep []dueEntry
	seen := map[string]bool{}
	for s.due.Len() > 0 && len(out) < limit && !s.due[0].at.After(t) {
		e := heap.Pop(&s.due).(dueEntry)
		r, ok := s.rems[e.id]
		if !ok || !r.SweepAt.Equal(e.at) || seen[e.id] {
			continue // superseded entry: the reminder moved or settled
		}
		seen[e.id] = true
		keep = append(keep, e)
		out = append(out, clone(r))
	}
	for _, e := range keep { // a query does not consume
		heap.Push(&s.due, e)
	}
	return out, nil
}

// OpenForCustomer implements app.Reminders.
func (s *Store) OpenForCustomer(_ context.Context, customerID string) ([]followup.Reminder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []followup.Reminder
	for id := range s.open[customerID] {
		out = append(out, clone(s.rems[id]))
	}
	slices.SortFunc(out, func(a, b followup.Reminder) int { return a.DueAt.Compare(b.DueAt) })
	return out, nil
}

// All returns every reminder (tests and reports).
func (s *Store) All() []followup.Reminder {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]followup.Reminder, 0, len(s.rems))
	for _, r := range s.rems {
		out = append(out, clone(r))
	}
	return out
}

// PutCustomer stores or replaces a contact view.
func (s *Store) PutCustomer(v followup.CustomerView) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v.Consents = slices.Clone(v.Consents)
	v.BadChannels = slices.Clone(v.BadChannels)
	s.views[v.ID] = v
}

// EditCustomer applies f to the stored view (opt-outs, consent changes in tests).
func (s *Store) EditCustomer(id string, f func(*followup.CustomerView)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.views[id]
	v.Consents = slices.Clone(v.Consents)
	v.BadChannels = slices.Clone(v.BadChannels)
	f(&v)
	s.views[id] = v
}

// ContactView implements app.Customers.
func (s *Store) ContactView(_ context.Context, id string) (followup.CustomerView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[id]
	if !ok {
		return v, app.ErrNotFound
	}
	v.Consents = slices.Clone(v.Consents)
	v.BadChannels = slices.Clone(v.BadChannels)
	return v, nil
}

// MarkBadContact implements app.Customers.
func (s *Store) MarkBadContact(_ context.Context, id string, ch model.Channel) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[id]
	if !ok {
		return app.ErrNotFound
	}
	if !slices.Contains(v.BadChannels, ch) {
		v.BadChannels = append(slices.Clone(v.BadChannels), ch)
	}
	s.views[id] = v
	return nil
}

// Add implements app.Counters. Expiry is ignored: windows are keyed by date.
func (s *Store) Add(_ context.Context, key string, delta, limit int64, _ time.Time) (bool, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.counters[key] + delta
	if limit >= 0 && v > limit {
		return false, s.counters[key], nil
	}
	s.counters[key] = v
	return true, v, nil
}

// SetStaff declares the staff of a store for a role, in round-robin order.
func (s *Store) SetStaff(store string, role model.Role, ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.staff[store+"#"+string(role)] = ids
}

// Members implements app.Staff.
func (s *Store) Members(_ context.Context, store string, role model.Role) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.staff[store+"#"+string(role)]), nil
}

// Enqueue implements app.Queue.
func (s *Store) Enqueue(_ context.Context, ids []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, ids...)
	return nil
}

// Drain returns and clears the queued ids.
func (s *Store) Drain() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

// Alert implements app.Alerts.
func (s *Store) Alert(_ context.Context, a app.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts = append(s.alerts, a)
	return nil
}

// Alerts returns the alerts raised so far.
func (s *Store) Alerts() []app.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.alerts)
}

type dueEntry struct {
	at time.Time
	id string
}

type dueHeap []dueEntry

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return h[i].id < h[j].id
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(dueEntry)) }
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

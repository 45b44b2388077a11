package access_test

import (
	"context"
	"sync"
	"time"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/followup"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
)

// fakeStore is the store's side of the ports, in memory, counting reads.
type fakeStore struct {
	mu        sync.Mutex
	profiles  map[string]customer.View
	contacts  map[string]string // phone or e-mail → customer id
	refs      map[access.Ref]string
	reminders map[string]followup.Reminder
	audit     []customer.AuditEntry
	reads     int
	refReads  int
	storeRead int
	creates   int
	// takeOnCreate: a create finds the number or contact taken by this id meanwhile.
	takeOnCreate string
	next         int
}

func newFake() *fakeStore {
	return &fakeStore{profiles: map[string]customer.View{}, contacts: map[string]string{},
		refs: map[access.Ref]string{}, reminders: map[string]followup.Reminder{}}
}

func (f *fakeStore) add(id, store, phone string) {
	f.profiles[id] = customer.View{Profile: customer.Profile{ID: id, Store: store, Phone: phone}}
	if phone != "" {
		f.contacts[phone] = id
	}
}

func (f *fakeStore) layer() *access.Layer {
	return access.New(access.Ports{Customers: f, Tasks: f, Audit: f, Txn: f}, func() time.Time { return time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC) })
}

func (f *fakeStore) CustomerView(_ context.Context, id string) (customer.View, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	v, ok := f.profiles[id]
	return v, ok, nil
}

func (f *fakeStore) CustomerByContact(_ context.Context, phone, email string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	for _, k := range []string{phone, email} {
		if id, ok := f.contacts[k]; ok && k != "" {
			return id, true, nil
		}
	}
	return "", false, nil
}

func (f *fakeStore) Get(_ context.Context, id string) (followup.Reminder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	r, ok := f.reminders[id]
	if !ok {
		return r, fapp.ErrNotFound
	}
	return r, nil
}

func (f *fakeStore) Audit(_ context.Context, e customer.AuditEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.audit = append(f.audit, e)
	return nil
}

func (f *fakeStore) CustomerStores(_ context.Context, ids []string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.storeRead++
	out := map[string]string{}
	for _, id := range ids {
		if v, ok := f.profiles[id]; ok {
			out[id] = v.Store
		}
	}
	return out, nil
}

func (f *fakeStore) CustomersByRef(_ context.Context, refs []access.Ref) (map[access.Ref]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refReads++
	out := map[access.Ref]string{}
	for _, r := range refs {
		if id, ok := f.refs[r]; ok {
			out[r] = id
		}
	}
	return out, nil
}

func (f *fakeStore) newID() string {
	f.next++
	return "new-" + string(rune('a'+f.next))
}

func (f *fakeStore) CreateByRef(_ context.Context, r access.Ref, _ time.Time) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.takeOnCreate != "" {
		f.refs[r] = f.takeOnCreate
		return "", access.ErrTaken
	}
	if _, ok := f.refs[r]; ok {
		return "", access.ErrTaken
	}
	f.creates++
	id := f.newID()
	f.refs[r] = id
	f.profiles[id] = customer.View{Profile: customer.Profile{ID: id, Store: r.Store}}
	return id, nil
}

func (f *fakeStore) CreateByContact(_ context.Context, l customer.Lead, _ customer.Grading, _ time.Time) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.takeOnCreate != "" {
		f.contacts[l.Phone] = f.takeOnCreate
		return "", access.ErrTaken
	}
	f.creates++
	id := f.newID()
	f.profiles[id] = customer.View{Profile: customer.Profile{ID: id, Store: l.Store, Phone: l.Phone, Email: l.Email}}
	for _, k := range []string{l.Phone, l.Email} {
		if k != "" {
			f.contacts[k] = id
		}
	}
	return id, nil
}

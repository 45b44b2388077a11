package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
)

// Fault is what the Outbox does with one Send call.
type Fault int

const (
	Deliver          Fault = iota
	TimeoutAfterSend       // delivered, but the caller sees a timeout
	TimeoutNoSend          // not delivered, and the caller sees a timeout
	Retryable              // throttled / 5xx: not delivered
	Permanent              // invalid number / hard bounce
	Refused                // the request never reached the provider (connection refused, DNS, TLS)
)

// Delivery is one message the Outbox accepted.
type Delivery struct {
	app.Outgoing
	At time.Time
}

// Outbox is a fake provider that records every accepted message and can inject faults.
// It deliberately does not deduplicate on the idempotency key: the simulation counts
// duplicates the provider would have been asked to send.
type Outbox struct {
	mu         sync.Mutex
	Now        func() time.Time
	Faults     func(m app.Outgoing) Fault // nil: always deliver
	NoLookup   bool                       // behave like a provider without a status API
	deliveries []Delivery
	byKey      map[string][]int
}

// NewOutbox returns an empty outbox reading time from now.
func NewOutbox(now func() time.Time) *Outbox { return &Outbox{Now: now, byKey: map[string][]int{}} }

// Send implements app.Sender.
func (o *Outbox) Send(_ context.Context, m app.Outgoing) (string, error) {
	f := Deliver
	if o.Faults != nil {
		f = o.Faults(m)
	}
	switch f {
	case Retryable:
		return "", fmt.Errorf("outbox: throttled")
	case Permanent:
		return "", fmt.Errorf("outbox: %s rejected: %w", m.Channel, app.ErrPermanent)
	case Refused:
		return "", fmt.Errorf("outbox: connection refused: %w", app.ErrNotSent)
	case TimeoutNoSend:
		return "", fmt.Errorf("outbox: %w", app.ErrAmbiguous)
	}
	o.mu.Lock()
	o.deliveries = append(o.deliveries, Delivery{Outgoing: m, At: o.Now()})
	o.byKey[m.IdempotencyKey] = append(o.byKey[m.IdempotencyKey], len(o.deliveries)-1)
	id := fmt.Sprintf("msg-%d", len(o.deliveries))
	o.mu.Unlock()
	if f == TimeoutAfterSend {
		return "", fmt.Errorf("outbox: %w", app.ErrAmbiguous)
	}
	return id, nil
}

// Lookup implements app.Sender.
func (o *Outbox) Lookup(_ context.Context, _ model.Channel, key string) (app.Lookup, string, error) {
	if o.NoLookup {
		return app.LookupUnknown, "", nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if idx := o.byKey[key]; len(idx) > 0 {
		return app.LookupSent, fmt.Sprintf("msg-%d", idx[0]+1), nil
	}
	return app.LookupNotFound, "", nil
}

// Deliveries returns what was accepted, in order.
func (o *Outbox) Deliveries() []Delivery {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Delivery(nil), o.deliveries...)
}

// DeliveriesSince returns deliveries from index n on, so a poller need not copy the whole log.
func (o *Outbox) DeliveriesSince(n int) []Delivery {
	o.mu.Lock()
	defer o.mu.Unlock()
	if n >= len(o.deliveries) {
		return nil
	}
	return append([]Delivery(nil), o.deliveries[n:]...)
}

// Duplicates counts keys delivered more than once.
func (o *Outbox) Duplicates() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, idx := range o.byKey {
		if len(idx) > 1 {
			n += len(idx) - 1
		}
	}
	return n
}

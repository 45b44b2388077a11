// Package events is what tierflow tells the business's other tools: lead.created,
// customer.merged, tier.changed, stage.changed, consent.changed, task.overdue,
// message.sent and message.failed (schemas in events/out/). Producers build an Event where
// the change is made and hand it to a Publisher; the deployed Publisher puts it on the
// stack's EventBridge bus, tests use Memory.
//
// An event carries ids, never personal data (no name, phone, e-mail, medical field), and
// an ID derived from the change itself (Key), so that a consumer can drop the copy a
// retried producer may send.
package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// Source is the EventBridge source of every tierflow event.
const Source = "tierflow"

// The event types tierflow publishes (EventBridge detail-type).
const (
	LeadCreated    = "lead.created"
	CustomerMerged = "customer.merged"
	TierChanged    = "tier.changed"
	StageChanged   = "stage.changed"
	ConsentChanged = "consent.changed"
	TaskOverdue    = "task.overdue"
	MessageSent    = "message.sent"
	MessageFailed  = "message.failed"
)

// Types lists every type, for documentation and tests.
func Types() []string {
	return []string{LeadCreated, CustomerMerged, TierChanged, StageChanged, ConsentChanged, TaskOverdue, MessageSent, MessageFailed}
}

// Event is one change. Detail is marshalled to JSON as the event's detail.
type Event struct {
	ID     string    // deterministic: Key(type, what changed…)
	Type   string    // one of Types()
	Time   time.Time // when the change happened
	Store  string    // the customer's store ("" when none)
	Detail any       // ids and codes only
}

// Key derives an event id from the type and what identifies the change (e.g. the customer
// id and the run id), so the same change always gets the same id.
func Key(typ string, parts ...string) string {
	h := sha256.Sum256([]byte(typ + "\x00" + strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:16])
}

// Publisher sends events. Publish returns an error when any event could not be handed
// over; the caller decides whether that fails its work (a retry then republishes, and the
// deterministic ID lets consumers drop the copy).
type Publisher interface {
	Publish(ctx context.Context, evs ...Event) error
}

// Nop publishes nothing: for functions deployed without a bus.
type Nop struct{}

// Publish implements Publisher.
func (Nop) Publish(context.Context, ...Event) error { return nil }

// Memory keeps what was published, for tests.
type Memory struct {
	mu  sync.Mutex
	got []Event
}

// Publish implements Publisher.
func (m *Memory) Publish(_ context.Context, evs ...Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, evs...)
	return nil
}

// Events returns a copy of what was published, in order.
func (m *Memory) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.got...)
}

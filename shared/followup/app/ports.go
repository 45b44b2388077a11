package app

import (
	"context"
	"errors"
	"time"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/message"
	"github.com/tierflow/tierflow/shared/model"
)

// Errors adapters return so services can branch on them.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict: a conditional write lost (the stored version moved on). Services treat
	// it as "someone else acted" and re-read rather than overwrite.
	ErrConflict = errors.New("conditional write conflict")
)

// Reminders stores reminders, one per id, and finds them by what is due and by customer
// (store.Reminders: a sparse due index written only while SweepAt is non-zero, a
// pointer per customer for cancellation; memstore in the simulation).
type Reminders interface {
	// Create inserts each reminder that does not exist yet (attribute_not_exists(PK)) and
	// returns those it created; existing ids are left untouched, which is what makes
	// re-planning idempotent.
	Create(ctx context.Context, rs []followup.Reminder) ([]followup.Reminder, error)
	// Get returns ErrNotFound for an unknown id.
	Get(ctx context.Context, id string) (followup.Reminder, error)
	// Update writes r if the stored Version equals r.Version (ConditionExpression on
	// version) and returns it with Version+1; ErrConflict otherwise.
	Update(ctx context.Context, r followup.Reminder) (followup.Reminder, error)
	// DueBefore returns up to limit reminders with 0 < SweepAt ≤ t, earliest first
	// (Query on the sparse GSI, one per shard, merged).
	DueBefore(ctx context.Context, t time.Time, limit int) ([]followup.Reminder, error)
	// OpenForCustomer returns the customer's reminders that are not terminal.
	OpenForCustomer(ctx context.Context, customerID string) ([]followup.Reminder, error)
}

// Customers is the read side of the customer profile that follow-up needs, and the one
// write it makes to it.
type Customers interface {
	// ContactView returns ErrNotFound for an unknown customer.
	ContactView(ctx context.Context, customerID string) (followup.CustomerView, error)
	// MarkBadContact records a permanent delivery failure on ch so nothing retries it.
	MarkBadContact(ctx context.Context, customerID string, ch model.Channel) error
}

// Counters are atomic per-key counters (UpdateItem ADD with a condition, TTL on expires).
type Counters interface {
	// Add adds delta to key if the result stays ≤ limit (limit < 0: no limit) and returns
	// whether it applied and the value after the call.
	Add(ctx context.Context, key string, delta, limit int64, expires time.Time) (applied bool, value int64, err error)
}

// Staff lists who can take a task: staff ids for a store and role, in a stable order.
type Staff interface {
	Members(ctx context.Context, store string, role model.Role) ([]string, error)
}

// Queue hands reminder ids to the dispatcher (shared/queue: the dispatch queue).
type Queue interface {
	Enqueue(ctx context.Context, ids []string) error
}

// Provider errors. A Sender wraps one of these so Dispatcher knows whether to retry,
// give up, or ask again later.
var (
	ErrPermanent = errors.New("permanent delivery failure") // invalid number, hard bounce
	ErrAmbiguous = errors.New("delivery outcome unknown")   // timeout after the request left
	// ErrNotSent: the request certainly never reached the provider (connection refused,
	// DNS, TLS, a context that ended before the body was written): retried, never
	// ambiguous, whatever the error underneath says.
	ErrNotSent = errors.New("request never reached the provider")
)

// Outgoing is one rendered message for a provider.
type Outgoing struct {
	IdempotencyKey string // = reminder id; providers that support it dedupe on it
	ReminderID     string
	CustomerID     string
	Channel        model.Channel
	Category       model.Category
	To             string // personal data: never log
	Message        message.Rendered
	UnsubscribeURL string // for List-Unsubscribe / List-Unsubscribe-Post
}

// Lookup is what a provider knows about an idempotency key.
type Lookup int

const (
	LookupNotFound Lookup = iota // never accepted: safe to send
	LookupSent                   // accepted earlier: record it, do not resend
	LookupUnknown                // the provider cannot tell
)

// Sender delivers on one or more channels.
type Sender interface {
	Send(ctx context.Context, m Outgoing) (providerID string, err error)
	// Lookup asks whether a key was accepted. Providers with no such API return
	// LookupUnknown, and an expired claim is then skipped rather than risk a duplicate.
	Lookup(ctx context.Context, ch model.Channel, key string) (Lookup, string, error)
}

// Alert tells a staff member about an escalation (SMS/email/IM to staff).
type Alert struct {
	Store      string
	StaffID    string // empty: the store's role inbox
	Role       model.Role
	TaskID     string
	OverdueID  string
	CustomerID string
	Level      int
}

// Alerts delivers staff alerts.
type Alerts interface {
	Alert(ctx context.Context, a Alert) error
}

// Links builds customer-facing URLs (shared/links), naming the customer only by an opaque
// token; "" when there is none.
type Links interface {
	Unsubscribe(customerID string) string
	Survey(reminderID, customerID string) string
}

// ConsentLinks mints the link of a double opt-in confirmation as its message is sent: a
// fresh single-use token bound to the customer and to the consents their form asked for,
// stored only as a hash, so the link exists nowhere but in the message. ErrNotFound
// means there is nothing left to confirm (the request is gone, the customer erased).
type ConsentLinks interface {
	ConsentConfirm(ctx context.Context, r followup.Reminder) (string, error)
}

// Claimer is what a store may offer instead of Get + Update for a claim: one conditional
// write that takes a due message (pending, deferred or retry → sending, attempts + 1,
// lease set, version + 1) and returns it, or on a lost condition the item as it stands
// (ok false). The claim leaves SweepAt where it was, so it does not move the due index:
// the sweep finds an expired lease by LeaseUntil (Reminder.SweepNow). ErrNotFound for an
// unknown id. store.Reminders implements it; without it the dispatcher reads first.
type Claimer interface {
	ClaimMessage(ctx context.Context, id string, now time.Time, lease followup.Offset) (claimed, current followup.Reminder, ok bool, err error)
}

// CapReserver is what a store may offer instead of two Counters.Add calls for a cap slot:
// the day and the ISO week of one customer and category in one item (the local day
// always lies in its week), both checked and counted by one conditional write. ok false
// reports which window is full (weekFull); dayN and weekN are the counts after the call.
type CapReserver interface {
	ReserveCap(ctx context.Context, w followup.CapWindows, delta, perDay, perWeek int64, expires time.Time) (ok, weekFull bool, dayN, weekN int64, err error)
}

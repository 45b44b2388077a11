package followup

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// Status is where a reminder is in its life. Messages go pending → sending → sent, or
// to retry / failed / skipped / deferred; tasks go open → done.
type Status string

const (
	StatusPending   Status = "pending"
	StatusDeferred  Status = "deferred" // quiet hours or a full cap moved DueAt; acts like pending
	StatusSending   Status = "sending"  // claimed: somebody is talking to the provider
	StatusRetry     Status = "retry"    // failed-retryable: DueAt is the backoff
	StatusSent      Status = "sent"
	StatusDelivered Status = "delivered" // the provider reported delivery (delivery events)
	StatusFailed    Status = "failed"    // failed-permanent: bad contact, template error, attempts exhausted
	StatusSkipped   Status = "skipped"
	StatusCancelled Status = "cancelled"
	StatusOpen      Status = "open" // a staff task waiting for an outcome
	StatusDone      Status = "done"
)

// Terminal reports whether nothing more will happen to the reminder.
func (s Status) Terminal() bool {
	switch s {
	case StatusSent, StatusDelivered, StatusFailed, StatusSkipped, StatusCancelled, StatusDone:
		return true
	}
	return false
}

// Sendable reports whether a message in s may be claimed once due.
func (s Status) Sendable() bool { return s == StatusPending || s == StatusDeferred || s == StatusRetry }

// ErrTransition is returned for a state change the machine does not allow. Callers treat
// it as "somebody else already moved it": re-read, do not retry blindly.
var ErrTransition = errors.New("reminder state transition not allowed")

// Reminder is a staff task or an automatic message for one customer. ID is derived from
// (customer, trigger, occurrence, rule) so re-planning the same occurrence is a no-op.
type Reminder struct {
	ID            string         `json:"id"`
	CustomerID    string         `json:"customerId"`
	Store         string         `json:"store,omitempty"`
	Trigger       TriggerKind    `json:"trigger"`
	TriggerRef    string         `json:"triggerRef"`
	RuleID        string         `json:"ruleId"`
	PolicyVersion int            `json:"policyVersion"`
	Channel       model.Channel  `json:"channel"`
	Category      model.Category `json:"category"`
	Template      string         `json:"template"`
	// Class is the message class of the rule (policy classes): whether it defers or
	// drops when blocked, its priority under a cap, and what an uncertain send does.
	Class        string   `json:"class,omitempty"`
	Priority     int      `json:"priority"`
	TimeCritical bool     `json:"timeCritical,omitempty"`
	Tags         []string `json:"tags,omitempty"`

	PlannedAt time.Time `json:"plannedAt"` // the due time promised at planning; lateness is measured from it
	DueAt     time.Time `json:"dueAt"`     // when to act next (moves with deferral and backoff)
	NotAfter  time.Time `json:"notAfter"`  // after this a message is stale and skipped
	// SweepAt is when the sweep must look at the reminder next; zero when it never needs
	// to. The store indexes only non-zero values (a sparse GSI), so "what is due" is a
	// query over the few live reminders, not a scan.
	SweepAt time.Time `json:"sweepAt,omitzero"`

	Status     Status    `json:"status"`
	Version    int       `json:"version"` // optimistic lock: every stored change is conditional on it
	Attempts   int       `json:"attempts,omitempty"`
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	// Reason is why a deferred reminder waits (until DueAt) or a suppressed one never
	// goes (statuses skipped, failed, cancelled); empty once sent. See Reasons.
	Reason     Reason    `json:"reason,omitempty"`
	Deferrals  int       `json:"deferrals,omitempty"` // how often it was moved for quiet hours, holidays or caps
	LastError  string    `json:"lastError,omitempty"` // never contains personal data
	SentAt     time.Time `json:"sentAt,omitzero"`
	ProviderID string    `json:"providerId,omitempty"`

	Task *Task `json:"task,omitempty"`
}

// IsTask reports whether the reminder is a staff task.
func (r Reminder) IsTask() bool { return r.Task != nil }

// IdempotencyKey is what the provider sees: one key per reminder, whatever the retries.
func (r Reminder) IdempotencyKey() string { return r.ID }

// ReminderID derives a stable id: the same occurrence planned twice collides on purpose.
func ReminderID(customerID string, kind TriggerKind, ref, ruleID string) string {
	h := sha256.New()
	for _, s := range []string{customerID, string(kind), ref, ruleID} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "rem_" + hex.EncodeToString(h.Sum(nil)[:16])
}

func (r *Reminder) transition(to Status, allowed ...Status) error {
	for _, s := range allowed {
		if r.Status == s {
			r.Status = to
			return nil
		}
	}
	return fmt.Errorf("%w: %s → %s for %s", ErrTransition, r.Status, to, r.ID)
}

// Claim marks a due message as being sent, before any provider call, so a second worker
// holding the same queue message finds it taken. A claim whose lease has expired may be
// taken over only via Reclaim, after the provider has been asked.
func (r Reminder) Claim(now time.Time, lease Offset) (Reminder, error) {
	if r.IsTask() {
		return r, fmt.Errorf("%w: tasks are not sent", ErrTransition)
	}
	if err := r.transition(StatusSending, StatusPending, StatusDeferred, StatusRetry); err != nil {
		return r, err
	}
	r.Attempts++
	r.LeaseUntil = lease.From(now)
	r.SweepAt = r.LeaseUntil
	return r, nil
}

// LeaseExpired reports whether a sending claim has outlived its lease: the worker holding
// it died or timed out, and the outcome is unknown.
func (r Reminder) LeaseExpired(now time.Time) bool {
	return r.Status == StatusSending && !now.Before(r.LeaseUntil)
}

// Reclaim takes over an expired claim once the provider said it has no record of the key.
func (r Reminder) Reclaim(now time.Time, lease Offset) (Reminder, error) {
	if !r.LeaseExpired(now) {
		return r, fmt.Errorf("%w: lease of %s still held", ErrTransition, r.ID)
	}
	r.Attempts++
	r.LeaseUntil = lease.From(now)
	r.SweepAt = r.LeaseUntil
	return r, nil
}

// MarkSent records the provider's acceptance.
func (r Reminder) MarkSent(now time.Time, providerID string) (Reminder, error) {
	if err := r.transition(StatusSent, StatusSending); err != nil {
		return r, err
	}
	r.SentAt, r.ProviderID, r.LastError, r.Reason = now, providerID, "", ReasonNone
	r.settle()
	return r, nil
}

// MarkDelivered records the provider's delivery report for a sent message.
func (r Reminder) MarkDelivered() (Reminder, error) {
	if err := r.transition(StatusDelivered, StatusSent); err != nil {
		return r, err
	}
	return r, nil
}

// RetryAt records a retryable failure; the caller computes the backoff.
func (r Reminder) RetryAt(due time.Time, cause string) (Reminder, error) {
	if err := r.transition(StatusRetry, StatusSending); err != nil {
		return r, err
	}
	r.DueAt, r.LastError, r.LeaseUntil, r.Reason = due, cause, time.Time{}, ReasonProviderError
	r.SweepAt = due
	return r, nil
}

// Fail records a permanent failure: reason is template_error, rejected or
// retries_exhausted; cause is the detail for operators (no personal data).
func (r Reminder) Fail(reason Reason, cause string) (Reminder, error) {
	if err := r.transition(StatusFailed, StatusSending); err != nil {
		return r, err
	}
	r.LastError, r.Reason = cause, reason
	r.settle()
	return r, nil
}

// Skip records a decision not to send (consent, stale, cap, uncertainty).
func (r Reminder) Skip(reason Reason) (Reminder, error) {
	if err := r.transition(StatusSkipped, StatusSending, StatusPending, StatusDeferred, StatusRetry); err != nil {
		return r, err
	}
	r.Reason = reason
	r.settle()
	return r, nil
}

// Defer moves a claimed message to a later due time (quiet hours, holiday, cap window)
// without counting an attempt against it; reason says why.
func (r Reminder) Defer(due time.Time, reason Reason) (Reminder, error) {
	wasClaimed := r.Status == StatusSending
	if err := r.transition(StatusDeferred, StatusSending, StatusPending, StatusDeferred, StatusRetry); err != nil {
		return r, err
	}
	if wasClaimed && r.Attempts > 0 {
		r.Attempts-- // the claim counted an attempt, but nothing reached the provider
	}
	r.DueAt, r.LeaseUntil, r.Reason = due, time.Time{}, reason
	r.Deferrals++
	r.SweepAt = due
	return r, nil
}

// Cancel closes an open reminder because a later event made it pointless. A message
// already being sent is not cancelled: the provider may have it.
func (r Reminder) Cancel() (Reminder, error) {
	if err := r.transition(StatusCancelled, StatusPending, StatusDeferred, StatusRetry, StatusOpen); err != nil {
		return r, err
	}
	r.Reason = ReasonCancelled
	r.settle()
	return r, nil
}

// Enqueued notes that the sweep handed the reminder to the queue; if the queue loses
// it, the sweep sees it again after requeueAfter.
func (r Reminder) Enqueued(now time.Time, requeueAfter Offset) Reminder {
	r.SweepAt = requeueAfter.From(now)
	return r
}

// SweepNow reports whether a sweep at now, the previous one having run at last, hands
// the reminder to the queue — without writing to it. A message is handed over once when
// it falls due (SweepAt in (last, now]), and again each time another requeueAfter has
// passed while it is still due (its queue message was lost, or nobody acted on it); a
// claimed message whose lease expired is handed over so the dispatcher asks the
// provider. The sweep thus costs no write per message: the claim takes it off the list.
func (r Reminder) SweepNow(now, last time.Time, requeueAfter time.Duration) bool {
	from := r.SweepAt
	if r.Status == StatusSending && !r.LeaseUntil.IsZero() {
		from = r.LeaseUntil
	}
	if from.IsZero() || from.After(now) {
		return false
	}
	if from.After(last) {
		return true
	}
	if requeueAfter <= 0 {
		return false
	}
	return now.Sub(from)/requeueAfter > last.Sub(from)/requeueAfter
}

func (r *Reminder) settle() {
	r.SweepAt, r.LeaseUntil = time.Time{}, time.Time{}
}

// SurveyAnswerWindow is how long after a survey was sent its link takes an answer.
const SurveyAnswerWindow = 30 * 24 * time.Hour

// Errors AcceptsAnswer returns; handlers answer 404 and 410 for them.
var (
	// ErrNoSuchSurvey: the reference is not a survey sent to this customer.
	ErrNoSuchSurvey = errors.New("no survey sent to this customer under that reference")
	// ErrSurveyClosed: the survey was sent more than SurveyAnswerWindow ago.
	ErrSurveyClosed = errors.New("survey closed")
)

// IsSurvey reports whether the reminder asks the customer for a survey answer.
func (r Reminder) IsSurvey() bool { return !r.IsTask() && strings.HasPrefix(r.Template, "survey.") }

// AcceptsAnswer says whether a survey answer for customerID may count against r at now:
// only a survey that was actually sent to that customer, within SurveyAnswerWindow of
// its sending. A link someone made up, a reminder of another customer, a message that
// is not a survey or one never sent are all ErrNoSuchSurvey, so the answer reveals
// nothing about which reminders exist.
func (r Reminder) AcceptsAnswer(customerID string, now time.Time) error {
	if r.ID == "" || r.CustomerID != customerID || !r.IsSurvey() || r.Status != StatusSent || r.SentAt.IsZero() {
		return ErrNoSuchSurvey
	}
	if now.Sub(r.SentAt) > SurveyAnswerWindow {
		return ErrSurveyClosed
	}
	return nil
}

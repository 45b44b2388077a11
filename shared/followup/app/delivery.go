package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/model"
)

// Suppressions closes a customer's channel after a permanent bounce or a complaint
// (store.Contacts: an attribute on the profile that ContactView turns into
// CustomerView.Suppressed until the customer consents again).
type Suppressions interface {
	// CloseChannel reports whether the closure was news (false for the same report twice).
	CloseChannel(ctx context.Context, customerID string, ch model.Channel, reason followup.Reason, at time.Time) (bool, error)
	// CustomerByAddress finds whose e-mail address or number it is; ErrNotFound if nobody's.
	CustomerByAddress(ctx context.Context, ch model.Channel, address string) (string, error)
	// MarkBadContact records that the provider found the address invalid.
	MarkBadContact(ctx context.Context, customerID string, ch model.Channel) error
}

// Tallies keeps the per-store, per-day counts the message report reads (one item per
// store and day, one attribute per count), on paths whose request units are not budgeted.
type Tallies interface {
	Add(ctx context.Context, store, day string, counts map[string]int64) error
}

// MessageTally is the tally attribute of one count of the message report: metric is
// sent, delivered, complaints or optOuts.
func MessageTally(ch model.Channel, cat model.Category, metric string) string {
	return "msg|" + string(ch) + "|" + string(cat) + "|" + metric
}

// NotSentTally is the tally attribute of messages not sent for reason (message report).
func NotSentTally(reason followup.Reason) string {
	if reason == followup.ReasonNone {
		reason = "unknown"
	}
	return "notSent|" + string(reason)
}

// Deliveries records what the providers report after a message was sent: the reminder's
// outcome (sent, delivered, failed: bounced) by the reminder id each message carries,
// and the channel's closure after a permanent bounce or a complaint.
type Deliveries struct {
	Reminders    Reminders
	Suppressions Suppressions
	Tallies      Tallies          // nil: nothing counted
	Events       events.Publisher // nil: nothing published
	Zone         *time.Location   // the business's zone: the day a count belongs to
}

// DeliveryResult says what one report changed.
type DeliveryResult struct {
	Reminder followup.Reminder // zero when the report named no known reminder
	Changed  bool              // the reminder's recorded outcome moved
	Closed   followup.Reason   // the channel was closed for this reason (new closures only)
}

// Record applies one report. address is the recipient the report names (used only when
// it names no reminder of ours); personal data, never logged.
func (d *Deliveries) Record(ctx context.Context, dv followup.Delivery, address string) (DeliveryResult, error) {
	var res DeliveryResult
	customerID := ""
	if dv.ReminderID != "" {
		r, changed, err := d.apply(ctx, dv)
		if err != nil {
			return res, err
		}
		res.Reminder, res.Changed = r, changed
		customerID = r.CustomerID
	}
	if customerID == "" && address != "" && dv.Closes() != followup.ReasonNone {
		id, err := d.Suppressions.CustomerByAddress(ctx, dv.Channel, address)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return res, fmt.Errorf("delivery report: finding the recipient: %w", err)
		}
		customerID = id
	}
	if dv.Kind == followup.DeliveryFailed && dv.Reason == followup.ReasonBadContact && customerID != "" {
		if err := d.Suppressions.MarkBadContact(ctx, customerID, dv.Channel); err != nil && !errors.Is(err, ErrNotFound) {
			return res, fmt.Errorf("delivery report: marking %s bad: %w", dv.Channel, err)
		}
	}
	if reason := dv.Closes(); reason != followup.ReasonNone && customerID != "" {
		news, err := d.Suppressions.CloseChannel(ctx, customerID, dv.Channel, reason, dv.At)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return res, fmt.Errorf("delivery report: closing %s: %w", dv.Channel, err)
		}
		if news {
			res.Closed = reason
		}
	}
	return res, d.count(ctx, dv, res)
}

// apply moves the reminder's recorded outcome, re-reading on a lost conditional write.
func (d *Deliveries) apply(ctx context.Context, dv followup.Delivery) (followup.Reminder, bool, error) {
	for attempt := 0; ; attempt++ {
		r, err := d.Reminders.Get(ctx, dv.ReminderID)
		if errors.Is(err, ErrNotFound) {
			return followup.Reminder{}, false, nil // not ours, or erased since
		}
		if err != nil {
			return r, false, fmt.Errorf("delivery report for %s: %w", dv.ReminderID, err)
		}
		next, changed := r.ApplyDelivery(dv)
		if !changed {
			return r, false, nil
		}
		stored, err := d.Reminders.Update(ctx, next)
		if errors.Is(err, ErrConflict) && attempt < 4 {
			continue
		}
		if err != nil {
			return r, false, fmt.Errorf("delivery report for %s: %w", dv.ReminderID, err)
		}
		return stored, true, d.announce(ctx, r, stored)
	}
}

// announce publishes message.sent when a report settles a message as gone, message.failed
// when it fails it.
func (d *Deliveries) announce(ctx context.Context, before, after followup.Reminder) error {
	typ := events.MessageSent
	switch {
	case after.Status == followup.StatusFailed:
		typ = events.MessageFailed
	case before.Status == followup.StatusSent:
		return nil // sent → delivered: message.sent was published when it was sent
	}
	return publish(ctx, d.Events, MessageEvent(typ, after))
}

// MessageEvent is message.sent or message.failed for a reminder: ids and codes only.
func MessageEvent(typ string, r followup.Reminder) events.Event {
	a := r.Account()
	return events.Event{
		ID: events.Key(typ, r.ID, string(r.Status)), Type: typ, Time: r.SentAt, Store: r.Store,
		Detail: map[string]any{"reminderId": r.ID, "customerId": r.CustomerID, "channel": r.Channel, "category": r.Category,
			"class": r.Class, "status": r.Status, "disposition": a.Disposition, "reason": a.Reason},
	}
}

func (d *Deliveries) count(ctx context.Context, dv followup.Delivery, res DeliveryResult) error {
	r := res.Reminder
	if d.Tallies == nil || r.ID == "" {
		return nil
	}
	counts := map[string]int64{}
	if dv.Kind == followup.DeliverySent {
		counts[MessageTally(r.Channel, r.Category, "sent")]++ // the provider's Send report, once per message
	}
	if res.Changed && (r.Status == followup.StatusDelivered) {
		counts[MessageTally(r.Channel, r.Category, "delivered")]++
	}
	if res.Closed == followup.ReasonComplained {
		counts[MessageTally(r.Channel, r.Category, "complaints")]++
	}
	if len(counts) == 0 {
		return nil
	}
	zone := d.Zone
	if zone == nil {
		zone = time.UTC
	}
	day := dv.At.In(zone).Format(time.DateOnly)
	if err := d.Tallies.Add(ctx, r.Store, day, counts); err != nil {
		return fmt.Errorf("delivery report: counting: %w", err)
	}
	return nil
}

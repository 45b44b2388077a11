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

// ReplyContacts is what a customer's reply needs of the store: who a number belongs to
// and the marketing opt-out on the profile.
type ReplyContacts interface {
	// CustomerByPhone returns ErrNotFound (or an error wrapping it) for an unknown number.
	CustomerByPhone(ctx context.Context, e164 string) (string, error)
	// SetMarketingOptOut reports whether the customer was not opted out before (false:
	// already opted out, nothing changed).
	SetMarketingOptOut(ctx context.Context, customerID, source string, at time.Time) (bool, error)
}

// Replies applies what a customer says back: an SMS reply (through the signed webhook of
// the public API, or End User Messaging's two-way SNS topic through the delivery
// function) and an unsubscribe link. Both doors call the same methods, so STOP means the
// same wherever it arrives.
type Replies struct {
	Contacts ReplyContacts
	Planner  *Planner
	Events   events.Publisher // nil: events.Nop
	Now      func() time.Time
	// Unknown reports whether err means "no such customer" for the adapter's errors.
	Unknown func(error) bool
	// Tallies count opt-outs in the message report (per store and day in Zone); nil
	// counts nothing. Store tells a customer's store for it.
	Tallies Tallies
	Zone    *time.Location
	Store   func(ctx context.Context, customerID string) (string, error)
}

// ReplyResult says what a reply did.
type ReplyResult struct {
	Known          bool // the number belongs to a customer
	OptedOut       bool // STOP / TD / 退订 / UNSUBSCRIBE: marketing stopped on every channel
	ContactPlanned bool // anything else: the "7-24-72" contact tasks were planned
}

// SMS applies one inbound SMS from an E.164 number; messageID makes a redelivered reply
// plan nothing twice.
func (r *Replies) SMS(ctx context.Context, from, body, messageID string) (ReplyResult, error) {
	id, err := r.Contacts.CustomerByPhone(ctx, from)
	if err != nil {
		if errors.Is(err, ErrNotFound) || (r.Unknown != nil && r.Unknown(err)) {
			return ReplyResult{}, nil
		}
		return ReplyResult{}, fmt.Errorf("sms reply: %w", err)
	}
	if followup.IsStop(body) {
		return ReplyResult{Known: true, OptedOut: true}, r.OptOut(ctx, id, "sms")
	}
	// Anything else is the customer reaching out: reply within 24 h, resolve within 72 h.
	if _, err := r.Planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerCustomerContact, CustomerID: id, Ref: "sms:" + messageID, At: r.Now()}); err != nil {
		return ReplyResult{Known: true}, err
	}
	return ReplyResult{Known: true, ContactPlanned: true}, nil
}

// OptOut records a marketing opt-out on every channel at once, cancels the customer's
// pending marketing through the policy's opt_out rule and publishes consent.changed.
// source is where it came from (sms, link).
func (r *Replies) OptOut(ctx context.Context, customerID, source string) error {
	now := r.Now()
	changed, err := r.Contacts.SetMarketingOptOut(ctx, customerID, source, now)
	if err != nil {
		return fmt.Errorf("opt-out of %s: %w", customerID, err)
	}
	if _, err := r.Planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerOptOut, CustomerID: customerID, Ref: source + ":" + now.UTC().Format(time.RFC3339), At: now}); err != nil {
		return err
	}
	if !changed {
		// Already opted out: pending marketing is cancelled again above (a reminder
		// planned meanwhile), but the consent did not change, so nothing is counted
		// or published.
		return nil
	}
	store := ""
	if r.Store != nil {
		st, err := r.Store(ctx, customerID)
		if err != nil {
			return fmt.Errorf("opt-out of %s: %w", customerID, err)
		}
		store = st
	}
	if r.Tallies != nil {
		ch := model.ChannelEmail
		if source == "sms" {
			ch = model.ChannelSMS
		}
		zone := r.Zone
		if zone == nil {
			zone = time.UTC
		}
		if err := r.Tallies.Add(ctx, store, now.In(zone).Format(time.DateOnly), map[string]int64{MessageTally(ch, model.CategoryMarketing, "optOuts"): 1}); err != nil {
			return fmt.Errorf("opt-out of %s: counting: %w", customerID, err)
		}
	}
	return publish(ctx, r.Events, ConsentEvent(customerID, store, "marketing", "*", false, source, now))
}

// ConsentEvent is consent.changed for one decision: channel "*" is every channel.
func ConsentEvent(customerID, store, category, channel string, granted bool, source string, at time.Time) events.Event {
	return events.Event{
		ID: events.Key(events.ConsentChanged, customerID, category, channel, at.UTC().Format(time.RFC3339Nano)), Type: events.ConsentChanged,
		Time: at, Store: store,
		Detail: map[string]any{"customerId": customerID, "category": category, "channel": channel, "granted": granted, "source": source},
	}
}

func publish(ctx context.Context, p events.Publisher, evs ...events.Event) error {
	if p == nil || len(evs) == 0 {
		return nil
	}
	if err := p.Publish(ctx, evs...); err != nil {
		return fmt.Errorf("publishing %s: %w", evs[0].Type, err)
	}
	return nil
}

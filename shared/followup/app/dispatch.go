package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/message"
	"github.com/tierflow/tierflow/shared/model"
)

// ErrUndeliverable is returned after a reminder was failed permanently for a reason an
// operator must see (a template missing a variable): the handler dead-letters the queue
// message with this reason. The reminder itself is already recorded as failed.
var ErrUndeliverable = errors.New("reminder undeliverable")

// Dispatcher sends one reminder per queue message, at most once per reminder.
//
// The order is what guarantees it: (1) a conditional claim pending → sending before the
// provider is called, so a redelivered or concurrent copy of the queue message finds it
// taken; (2) the provider gets the reminder id as idempotency key; (3) the outcome is
// recorded with another conditional write. If the process dies or the provider times
// out between (1) and (3), the reminder stays "sending" until its lease expires; the
// sweep then re-queues it and Dispatcher asks the provider about the key instead of
// resending. A provider that cannot answer makes the reminder "skipped: uncertain":
// we prefer a rare missed message to a duplicate, the failure the seeds complain about.
type Dispatcher struct {
	Policy    followup.Policy
	Reminders Reminders
	Customers Customers
	Counters  Counters
	Sender    Sender
	Catalog   *message.Catalog
	Links     Links
	// Consent mints double opt-in links (consent_requested reminders); nil leaves them
	// without one, and their template then fails for the missing variable.
	Consent ConsentLinks
	// TierNames returns the business's names for tiers (the tiering policy's
	// tierNames: "VIP"); a customer never reads an internal tier letter. Nil uses
	// DefaultTierNames.
	TierNames func(ctx context.Context) (map[model.Tier]string, error)
	// Observe, when set, is told every reminder the dispatcher recorded and the result
	// (metrics: messages by disposition and reason).
	Observe func(ctx context.Context, r followup.Reminder, res Result)
	Now     func() time.Time
}

// DefaultTierNames are the tier names of the default tiering policy.
var DefaultTierNames = map[model.Tier]string{model.TierA: "VIP", model.TierB: "Silver", model.TierC: "Regular"}

// Result says what one Handle did; handlers ack every result and retry only on error.
type Result string

const (
	ResultSent      Result = "sent"
	ResultRecovered Result = "recovered"   // an expired claim turned out to be sent already
	ResultDuplicate Result = "duplicate"   // already finished: a redelivered queue message
	ResultInFlight  Result = "in_flight"   // another worker holds the claim
	ResultNotDue    Result = "not_due"     // delivered early; the sweep brings it back
	ResultDeferred  Result = "deferred"    // quiet hours or a full cap
	ResultSkipped   Result = "skipped"     // consent, staleness, bad contact, uncertainty
	ResultRetry     Result = "retry"       // provider error; backoff scheduled
	ResultFailed    Result = "failed"      // permanent failure recorded
	ResultAmbiguous Result = "ambiguous"   // provider timed out; resolved after the lease
	ResultGone      Result = "gone"        // unknown id (erased customer's reminder)
	ResultNotAMsg   Result = "not_message" // a task id reached the queue
)

// Handle processes one queue message carrying a reminder id.
func (d *Dispatcher) Handle(ctx context.Context, id string) (Result, error) {
	now := d.Now()
	if cl, ok := d.Reminders.(Claimer); ok {
		return d.claimFirst(ctx, cl, id, now)
	}
	r, err := d.Reminders.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return ResultGone, nil
	}
	if err != nil {
		return "", fmt.Errorf("dispatch %s: reading: %w", id, err)
	}
	if res, done := d.unclaimable(r, now); done {
		if res == ResultAmbiguous {
			return d.resolveExpired(ctx, r, now)
		}
		return res, nil
	}
	claimed, err := r.Claim(now, d.Policy.Contact.SendingLease)
	if err != nil {
		return ResultInFlight, nil
	}
	if claimed, err = d.Reminders.Update(ctx, claimed); errors.Is(err, ErrConflict) {
		return ResultInFlight, nil
	} else if err != nil {
		return "", fmt.Errorf("dispatch %s: claiming: %w", id, err)
	}
	return d.send(ctx, claimed, now, false)
}

// unclaimable says why r cannot be claimed now (done true), ResultAmbiguous standing for
// "an expired lease: ask the provider".
func (d *Dispatcher) unclaimable(r followup.Reminder, now time.Time) (Result, bool) {
	switch {
	case r.IsTask():
		return ResultNotAMsg, true
	case r.Status.Terminal():
		return ResultDuplicate, true
	case r.Status == followup.StatusSending:
		if !r.LeaseExpired(now) {
			return ResultInFlight, true
		}
		return ResultAmbiguous, true
	case r.DueAt.After(now):
		return ResultNotDue, true
	}
	return "", false
}

// claimFirst claims with one conditional write and reads nothing first: the common case
// (a due message) costs the claim alone; anything else is decided on the item the lost
// condition returned.
func (d *Dispatcher) claimFirst(ctx context.Context, cl Claimer, id string, now time.Time) (Result, error) {
	claimed, cur, ok, err := cl.ClaimMessage(ctx, id, now, d.Policy.Contact.SendingLease)
	if errors.Is(err, ErrNotFound) {
		return ResultGone, nil
	}
	if err != nil {
		return "", fmt.Errorf("dispatch %s: claiming: %w", id, err)
	}
	if !ok {
		res, done := d.unclaimable(cur, now)
		switch {
		case !done:
			return ResultInFlight, nil // moved between the write and its answer
		case res == ResultAmbiguous:
			return d.resolveExpired(ctx, cur, now)
		}
		return res, nil
	}
	if claimed.DueAt.After(now) {
		// Claimed before its time (a reminder stored without its due second): give it back.
		back := claimed
		back.Status, back.Attempts, back.LeaseUntil = cur.Status, cur.Attempts, cur.LeaseUntil
		if _, err := d.Reminders.Update(ctx, back); err != nil && !errors.Is(err, ErrConflict) {
			return "", fmt.Errorf("dispatch %s: releasing an early claim: %w", id, err)
		}
		return ResultNotDue, nil
	}
	return d.send(ctx, claimed, now, false)
}

// resolveExpired decides about a claim whose worker vanished: ask before resending.
func (d *Dispatcher) resolveExpired(ctx context.Context, r followup.Reminder, now time.Time) (Result, error) {
	state, providerID, err := d.Sender.Lookup(ctx, r.Channel, r.IdempotencyKey())
	if err != nil {
		return "", fmt.Errorf("dispatch %s: provider lookup: %w", r.ID, err)
	}
	switch state {
	case LookupSent:
		sent, err := r.MarkSent(now, providerID)
		if err != nil {
			return ResultInFlight, nil
		}
		return d.record(ctx, sent, ResultRecovered)
	case LookupUnknown:
		if !d.Policy.ClassOf(r).Resends() {
			skipped, err := r.Skip(followup.ReasonUncertainSend)
			if err != nil {
				return ResultInFlight, nil
			}
			return d.record(ctx, skipped, ResultSkipped)
		}
		// The class prefers a duplicate to a loss: send again, under the same key.
	}
	reclaimed, err := r.Reclaim(now, d.Policy.Contact.SendingLease)
	if err != nil {
		return ResultInFlight, nil
	}
	if reclaimed, err = d.Reminders.Update(ctx, reclaimed); errors.Is(err, ErrConflict) {
		return ResultInFlight, nil
	} else if err != nil {
		return "", fmt.Errorf("dispatch %s: reclaiming: %w", r.ID, err)
	}
	// The expired claim kept its cap slots (an ambiguous send never gives them back):
	// the resend uses them rather than take a second pair.
	return d.send(ctx, reclaimed, now, true)
}

func (d *Dispatcher) record(ctx context.Context, r followup.Reminder, res Result) (Result, error) {
	if _, err := d.Reminders.Update(ctx, r); errors.Is(err, ErrConflict) {
		return ResultInFlight, nil
	} else if err != nil {
		// The claim stays; its lease expires and the lookup path settles it.
		return "", fmt.Errorf("dispatch %s: recording %s: %w", r.ID, res, err)
	}
	if d.Observe != nil {
		d.Observe(ctx, r, res)
	}
	return res, nil
}

func (d *Dispatcher) apply(ctx context.Context, r followup.Reminder, dec followup.Decision) (Result, error) {
	if dec.Skip != followup.SkipNone {
		s, err := r.Skip(dec.Skip)
		if err != nil {
			return "", err
		}
		return d.record(ctx, s, ResultSkipped)
	}
	s, err := r.Defer(dec.Defer, dec.Reason)
	if err != nil {
		return "", err
	}
	return d.record(ctx, s, ResultDeferred)
}

// send runs with the claim held; slotsHeld when an earlier attempt of the same claim
// already took the cap slots.
func (d *Dispatcher) send(ctx context.Context, r followup.Reminder, now time.Time, slotsHeld bool) (Result, error) {
	c := d.Policy.Contact
	v, err := d.Customers.ContactView(ctx, r.CustomerID)
	if errors.Is(err, ErrNotFound) {
		v = followup.CustomerView{ID: r.CustomerID, Erased: true}
	} else if err != nil {
		return "", fmt.Errorf("dispatch %s: reading customer: %w", r.ID, err)
	}
	if dec := d.Policy.Check(r, v, now); !dec.Send {
		return d.apply(ctx, r, dec)
	}
	class := d.Policy.ClassOf(r)
	gate := d.Policy.Gate(v, class)
	release := func(context.Context) {}
	if class.Capped && !slotsHeld {
		windows := gate.Windows(r.CustomerID, r.Category, now)
		var dec followup.Decision
		release, dec, err = d.reserve(ctx, r, class, windows)
		if err != nil {
			return "", fmt.Errorf("dispatch %s: frequency cap: %w", r.ID, err)
		}
		if !dec.Send {
			return d.apply(ctx, r, dec)
		}
	}
	vars := map[string]string{"Name": v.Name, "TierName": d.tierName(ctx, v.Tier)}
	if d.Links != nil {
		vars["UnsubscribeURL"] = d.Links.Unsubscribe(r.CustomerID)
		vars["SurveyURL"] = d.Links.Survey(r.ID, r.CustomerID)
	}
	if r.Trigger == followup.TriggerConsentRequested && d.Consent != nil {
		link, err := d.Consent.ConsentConfirm(ctx, r)
		if errors.Is(err, ErrNotFound) {
			release(ctx)
			return d.apply(ctx, r, followup.Decision{Skip: followup.ReasonCancelled, Reason: followup.ReasonCancelled})
		}
		if err != nil {
			release(ctx)
			return "", fmt.Errorf("dispatch %s: consent link: %w", r.ID, err)
		}
		vars["ConfirmURL"] = link
	}
	msg, err := d.Catalog.Render(r.Template, string(r.Channel), v.Locale, vars)
	if err != nil {
		release(ctx)
		failed, ferr := r.Fail(followup.ReasonTemplateError, "render: "+err.Error())
		if ferr != nil {
			return "", ferr
		}
		if _, rerr := d.record(ctx, failed, ResultFailed); rerr != nil {
			return "", rerr
		}
		return ResultFailed, fmt.Errorf("%w: %s: %w", ErrUndeliverable, r.ID, err)
	}
	out := Outgoing{
		IdempotencyKey: r.IdempotencyKey(), ReminderID: r.ID, CustomerID: r.CustomerID,
		Channel: r.Channel, Category: r.Category, To: addressOf(v, r.Channel), Message: msg,
		UnsubscribeURL: vars["UnsubscribeURL"],
	}
	providerID, err := d.Sender.Send(ctx, out)
	switch {
	case err == nil:
		sent, err := r.MarkSent(now, providerID)
		if err != nil {
			return "", err
		}
		return d.record(ctx, sent, ResultSent)
	case errors.Is(err, ErrNotSent):
		// Certainly never reached the provider: an ordinary retry below.
	case errors.Is(err, ErrAmbiguous), errors.Is(err, context.DeadlineExceeded):
		// It may have gone out: keep the claim (and the cap slot) and let the lease
		// expiry ask the provider.
		return ResultAmbiguous, nil
	case errors.Is(err, ErrPermanent):
		release(ctx)
		if merr := d.Customers.MarkBadContact(ctx, r.CustomerID, r.Channel); merr != nil {
			return "", fmt.Errorf("dispatch %s: marking bad contact: %w", r.ID, merr)
		}
		failed, ferr := r.Fail(followup.ReasonRejected, "permanent: "+string(r.Channel)+" rejected")
		if ferr != nil {
			return "", ferr
		}
		return d.record(ctx, failed, ResultFailed)
	}
	release(ctx)
	if r.Attempts >= c.Retry.MaxAttempts {
		failed, ferr := r.Fail(followup.ReasonRetriesExhausted, fmt.Sprintf("gave up after %d attempts", r.Attempts))
		if ferr != nil {
			return "", ferr
		}
		return d.record(ctx, failed, ResultFailed)
	}
	next, ok := gate.Next(now.Add(c.Retry.Backoff(r.ID, r.Attempts)))
	if !ok || (!r.NotAfter.IsZero() && next.After(r.NotAfter)) {
		skipped, serr := r.Skip(followup.ReasonStale)
		if serr != nil {
			return "", serr
		}
		return d.record(ctx, skipped, ResultSkipped)
	}
	retry, rerr := r.RetryAt(next, "provider: retryable")
	if rerr != nil {
		return "", rerr
	}
	return d.record(ctx, retry, ResultRetry)
}

// tierName is the business's name of tier t; an unnamed tier renders empty, so the
// template fails for the missing variable rather than print an internal letter.
func (d *Dispatcher) tierName(ctx context.Context, t model.Tier) string {
	names := DefaultTierNames
	if d.TierNames != nil {
		if n, err := d.TierNames(ctx); err == nil && len(n) > 0 {
			names = n
		}
	}
	return names[t]
}

// reserve takes one slot in the day and week counters of the message's category and
// returns a release func to give the slots back if nothing is sent. A message that
// took the last slot of a window while one of a higher-priority class is due for the
// same customer in that window gives it back and yields (Decision without Send).
func (d *Dispatcher) reserve(ctx context.Context, r followup.Reminder, class followup.Class, w followup.CapWindows) (func(context.Context), followup.Decision, error) {
	cp := d.Policy.Contact.Caps[r.Category]
	noop := func(context.Context) {}
	if cr, ok := d.Counters.(CapReserver); ok {
		expires := w.NextWeek.Add(48 * time.Hour)
		ok, weekFull, dayN, weekN, err := cr.ReserveCap(ctx, w, 1, int64(cp.PerDay), int64(cp.PerWeek), expires)
		if err != nil {
			return noop, followup.Decision{}, err
		}
		if !ok {
			return noop, d.Policy.CapDecision(r, class, w, weekFull), nil
		}
		release := func(ctx context.Context) {
			cr.ReserveCap(ctx, w, -1, -1, -1, expires) //nolint:errcheck // best effort: a leaked slot only makes the cap stricter
		}
		return d.yieldIfLast(ctx, r, class, w, cp, dayN, weekN, release)
	}
	ok, dayN, err := d.Counters.Add(ctx, w.Day, 1, int64(cp.PerDay), w.NextDay.Add(48*time.Hour))
	if err != nil {
		return noop, followup.Decision{}, err
	}
	if !ok {
		return noop, d.Policy.CapDecision(r, class, w, false), nil
	}
	ok, weekN, err := d.Counters.Add(ctx, w.Week, 1, int64(cp.PerWeek), w.NextWeek.Add(48*time.Hour))
	if err != nil || !ok {
		d.Counters.Add(ctx, w.Day, -1, -1, time.Time{}) //nolint:errcheck // best effort: a leaked slot only makes the cap stricter
		if err != nil {
			return noop, followup.Decision{}, err
		}
		return noop, d.Policy.CapDecision(r, class, w, true), nil
	}
	release := func(ctx context.Context) {
		// Best effort: a slot not given back only makes the cap stricter for a day.
		d.Counters.Add(ctx, w.Day, -1, -1, time.Time{})  //nolint:errcheck
		d.Counters.Add(ctx, w.Week, -1, -1, time.Time{}) //nolint:errcheck
	}
	return d.yieldIfLast(ctx, r, class, w, cp, dayN, weekN, release)
}

// yieldIfLast gives back a slot that was the last of its day or week while a message of
// a higher-priority class is due for the same customer in that window.
func (d *Dispatcher) yieldIfLast(ctx context.Context, r followup.Reminder, class followup.Class, w followup.CapWindows, cp followup.Cap, dayN, weekN int64, release func(context.Context)) (func(context.Context), followup.Decision, error) {
	noop := func(context.Context) {}
	lastDay, lastWeek := dayN == int64(cp.PerDay), weekN == int64(cp.PerWeek)
	if (lastDay || lastWeek) && class.Priority > 1 {
		end := w.DayEnd
		if lastWeek {
			end = w.WeekEnd
		}
		yield, err := d.higherPriorityDue(ctx, r, class, end)
		if err != nil {
			release(ctx)
			return noop, followup.Decision{}, err
		}
		if yield {
			release(ctx)
			dec := d.Policy.CapDecision(r, class, w, lastWeek && !lastDay)
			if dec.Skip != followup.ReasonNone {
				dec.Skip = followup.ReasonYielded
			}
			dec.Reason = followup.ReasonYielded
			return noop, dec, nil
		}
	}
	return release, followup.Decision{Send: true}, nil
}

// higherPriorityDue reports whether another message of the customer, of the same
// category and a class of higher priority, is due before end and still to be sent.
func (d *Dispatcher) higherPriorityDue(ctx context.Context, r followup.Reminder, class followup.Class, end time.Time) (bool, error) {
	open, err := d.Reminders.OpenForCustomer(ctx, r.CustomerID)
	if err != nil {
		return false, fmt.Errorf("open reminders of %s: %w", r.CustomerID, err)
	}
	for _, o := range open {
		if o.ID == r.ID || o.IsTask() || o.Category != r.Category || !o.Status.Sendable() || !o.DueAt.Before(end) {
			continue
		}
		if oc := d.Policy.ClassOf(o); oc.Capped && oc.Priority < class.Priority {
			return true, nil
		}
	}
	return false, nil
}

func addressOf(v followup.CustomerView, ch model.Channel) string {
	if ch == model.ChannelEmail {
		return v.Email
	}
	return v.Phone
}

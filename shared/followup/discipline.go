package followup

import (
	"fmt"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// Allowed reports whether an automatic message may reach the customer at t (already in
// the customer's zone).
func (c Contact) Allowed(t time.Time) bool { return !c.QuietHours.Contains(t) }

// NextAllowed returns t if messages are allowed then, else the end of the quiet period
// that contains t. Quiet hours defer, they never drop.
func (c Contact) NextAllowed(t time.Time) time.Time {
	if c.Allowed(t) {
		return t
	}
	end := c.QuietHours.End.On(t)
	if !end.After(t) {
		end = c.QuietHours.End.On(t.AddDate(0, 0, 1))
	}
	return end
}

// CriticalSlot places a time-critical message so it is neither in quiet hours nor late:
// a target inside the quiet period, or within CriticalMargin of its start, moves earlier
// to CriticalMargin before quiet hours begin. Being early beats a birthday note the next
// morning. A target whose early slot is already past is sent as soon as allowed.
func (c Contact) CriticalSlot(target, now time.Time) time.Time {
	margin := c.CriticalMargin.Dur
	quietStart := c.QuietHours.Start.On(target)
	if c.QuietHours.Contains(target) && quietStart.After(target) {
		// after midnight, inside the quiet period that started the evening before
		quietStart = c.QuietHours.Start.On(target.AddDate(0, 0, -1))
	}
	slot := target
	if c.QuietHours.Contains(target) || (target.Before(quietStart) && quietStart.Sub(target) < margin) {
		slot = quietStart.Add(-margin)
	}
	if slot.Before(now) {
		slot = c.NextAllowed(now)
	}
	return slot
}

// CapWindows are the counter keys a message occupies: its local day and ISO week, per
// category, so marketing never eats the service budget and vice versa.
type CapWindows struct {
	Day, Week         string
	NextDay, NextWeek time.Time // when each window resets, local
}

// Windows returns the cap windows t (customer-local) falls in.
func (c Contact) Windows(customerID string, cat model.Category, t time.Time) CapWindows {
	y, w := t.ISOWeek()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	nextDay := day.AddDate(0, 0, 1)
	wd := (int(day.Weekday()) + 6) % 7 // Monday = 0
	nextWeek := day.AddDate(0, 0, 7-wd)
	prefix := "cap#" + customerID + "#" + string(cat)
	return CapWindows{
		Day:      prefix + "#d#" + day.Format("2006-01-02"),
		Week:     fmt.Sprintf("%s#w#%04d-W%02d", prefix, y, w),
		NextDay:  c.NextAllowed(nextDay),
		NextWeek: c.NextAllowed(nextWeek),
	}
}

// Decision is what to do with a claimed message right now.
type Decision struct {
	Send   bool
	Defer  time.Time  // non-zero: move DueAt here
	Skip   SkipReason // non-empty: close without sending
	Reason string     // for logs and counters; no personal data
}

// Check applies the send-time rules that need no counters: erasure, consent and opt-out
// (read fresh), bad contact, staleness and quiet hours. Caps are checked by the caller
// against atomic counters, then CapDecision says what to do if they are full.
func (c Contact) Check(r Reminder, v CustomerView, now time.Time, loc *time.Location) Decision {
	if reason := v.Permits(r.Category, r.Channel); reason != SkipNone {
		return Decision{Skip: reason, Reason: string(reason)}
	}
	if !r.NotAfter.IsZero() && now.After(r.NotAfter) {
		return Decision{Skip: SkipStale, Reason: "past notAfter"}
	}
	local := now.In(loc)
	if !c.Allowed(local) {
		next := c.NextAllowed(local)
		if !r.NotAfter.IsZero() && next.After(r.NotAfter) {
			return Decision{Skip: SkipStale, Reason: "quiet hours until after notAfter"}
		}
		return Decision{Defer: next, Reason: "quiet hours"}
	}
	return Decision{Send: true}
}

// CapDecision says what to do when the cap window w is full: wait for the window that
// reset, unless the message would be stale by then.
func (c Contact) CapDecision(r Reminder, w CapWindows, weekFull bool) Decision {
	next := w.NextDay
	if weekFull {
		next = w.NextWeek
	}
	if !r.NotAfter.IsZero() && next.After(r.NotAfter) {
		return Decision{Skip: SkipCapped, Reason: "cap full until after notAfter"}
	}
	return Decision{Defer: next, Reason: "frequency cap"}
}

// Backoff is the delay before attempt n+1 after n failed attempts: exponential, capped,
// with ±20% jitter derived from the reminder id so it is deterministic per reminder yet
// spreads a burst of failures.
func (rt Retry) Backoff(id string, attempts int) time.Duration {
	d := rt.Initial.Dur
	for i := 1; i < attempts && d < rt.Max.Dur; i++ {
		d *= 2
	}
	d = min(d, rt.Max.Dur)
	var h uint32 = 2166136261
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	h ^= uint32(attempts) * 2654435761
	jitter := float64(h%401)/1000 - 0.2 // -0.2 … +0.2
	return time.Duration(float64(d) * (1 + jitter))
}

package followup

import (
	"fmt"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// Gate decides when a message may reach one customer. It fails closed: quiet hours of
// the local weekday in the customer's zone — in every zone the business serves when
// the profile names none — and, for classes that avoid them, holidays and the
// business's closed days. What it cannot place within a fortnight it never sends.
type Gate struct {
	contact  Contact
	zones    []*time.Location
	unknown  bool      // the customer's zone is unknown: zones are the served ones
	holidays *Holidays // nil: the class does not avoid holidays
}

// maxWait bounds how far ahead a gate looks for a slot.
const maxWait = 14 * 24 * time.Hour

// Gate returns the gate for a message of class to customer v.
func (p Policy) Gate(v CustomerView, class Class) Gate {
	g := Gate{contact: p.Contact}
	if loc, ok := knownZone(v.TimeZone); ok {
		g.zones = []*time.Location{loc}
	} else {
		g.unknown = true
		for _, z := range p.ServedZones {
			g.zones = append(g.zones, Location(z, p.DefaultTimeZone))
		}
		if len(g.zones) == 0 {
			g.zones = []*time.Location{Location("", p.DefaultTimeZone)}
		}
	}
	if class.AvoidHolidays {
		g.holidays = p.holidays()
	}
	return g
}

// knownZone resolves a profile's zone name; false for none or one the zone database
// does not know.
func knownZone(name string) (*time.Location, bool) {
	if name == "" {
		return nil, false
	}
	l := Location(name, "")
	return l, l != time.UTC || name == "UTC" || name == "Etc/UTC"
}

// Zone is where the customer's local days are counted (cap windows, due times): their
// own zone, or the business's first served zone when it is unknown.
func (g Gate) Zone() *time.Location { return g.zones[0] }

// ZoneUnknown reports whether the customer's zone is unknown.
func (g Gate) ZoneUnknown() bool { return g.unknown }

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// window is the sending window [from, to) of the local day day (midnight).
func (c Contact) window(day time.Time) (from, to time.Time) {
	w := c.QuietHours.Day(day.Weekday())
	from = w.End.On(day)
	to = w.Start.On(day)
	if w.Start.Minutes == 0 {
		to = day.AddDate(0, 0, 1)
	}
	return from, to
}

// blockedIn says why t is no time to send in loc, ReasonNone when it is one.
func (g Gate) blockedIn(t time.Time, loc *time.Location) Reason {
	local := t.In(loc)
	day := midnight(local)
	if r := g.holidays.Off(day); r != ReasonNone {
		return r
	}
	from, to := g.contact.window(day)
	if local.Before(from) || !local.Before(to) {
		return ReasonQuietHours
	}
	return ReasonNone
}

// Blocked says why a message may not go at t: quiet_hours, holiday, closed_day, or
// ReasonNone when it may.
func (g Gate) Blocked(t time.Time) Reason {
	for _, z := range g.zones {
		if r := g.blockedIn(t, z); r != ReasonNone {
			return r
		}
	}
	return ReasonNone
}

// Allowed reports whether a message may go at t.
func (g Gate) Allowed(t time.Time) bool { return g.Blocked(t) == ReasonNone }

// nextIn is the earliest instant ≥ t that loc allows. A day off moves the message to
// the next working day (make-up working days count), not merely to the next day.
func (g Gate) nextIn(t time.Time, loc *time.Location) time.Time {
	local := t.In(loc)
	wantWorking := false
	for i := 0; i < 400; i++ {
		day := midnight(local)
		if g.holidays.Off(day) != ReasonNone {
			wantWorking = true
		} else if !wantWorking || g.holidays.Working(day) {
			from, to := g.contact.window(day)
			if local.Before(from) {
				return from
			}
			if local.Before(to) {
				return local
			}
		}
		local = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}

// Next returns the earliest instant ≥ t a message may go; false when there is none
// within a fortnight (served zones with no common waking hour).
func (g Gate) Next(t time.Time) (time.Time, bool) {
	cand := t
	for round := 0; round < 64; round++ {
		moved := false
		for _, z := range g.zones {
			n := g.nextIn(cand, z)
			if n.IsZero() {
				return time.Time{}, false
			}
			if n.After(cand) {
				cand, moved = n, true
			}
		}
		if cand.Sub(t) > maxWait {
			return time.Time{}, false
		}
		if !moved {
			return cand, true
		}
	}
	return time.Time{}, false
}

// CriticalSlot places a time-critical message so it is neither in quiet hours nor late:
// a target inside the night, or within CriticalMargin of its start, moves earlier to
// CriticalMargin before the night begins. Being early beats a birthday note the next
// morning. A target whose early slot is already past is sent as soon as allowed.
func (g Gate) CriticalSlot(target, now time.Time) (time.Time, bool) {
	slot := target
	if !g.unknown {
		margin := g.contact.CriticalMargin.Dur
		local := target.In(g.zones[0])
		day := midnight(local)
		from, to := g.contact.window(day)
		switch {
		case local.Before(from): // after midnight, in the night that began the evening before
			_, prevTo := g.contact.window(day.AddDate(0, 0, -1))
			slot = prevTo.Add(-margin)
		case !local.Before(to.Add(-margin)):
			slot = to.Add(-margin)
		}
	}
	if slot.Before(now) {
		slot = now
	}
	return g.Next(slot)
}

// CapWindows are the counter keys a message occupies: its local day and ISO week, per
// category, so marketing never eats the service budget and vice versa.
type CapWindows struct {
	Day, Week         string
	DayEnd, WeekEnd   time.Time // when each window resets (local midnight)
	NextDay, NextWeek time.Time // the first slot the gate allows after each reset
}

// Windows returns the cap windows now falls in, counted in the gate's zone.
func (g Gate) Windows(customerID string, cat model.Category, now time.Time) CapWindows {
	t := now.In(g.Zone())
	y, w := t.ISOWeek()
	day := midnight(t)
	nextDay := day.AddDate(0, 0, 1)
	wd := (int(day.Weekday()) + 6) % 7 // Monday = 0
	nextWeek := day.AddDate(0, 0, 7-wd)
	prefix := "cap#" + customerID + "#" + string(cat)
	cw := CapWindows{
		Day:     prefix + "#d#" + day.Format("2006-01-02"),
		Week:    fmt.Sprintf("%s#w#%04d-W%02d", prefix, y, w),
		DayEnd:  nextDay,
		WeekEnd: nextWeek,
	}
	cw.NextDay, _ = g.Next(nextDay)
	cw.NextWeek, _ = g.Next(nextWeek)
	return cw
}

// Decision is what to do with a claimed message right now.
type Decision struct {
	Send  bool
	Defer time.Time // non-zero: move DueAt here
	Skip  Reason    // non-empty: close without sending
	// Reason is why it waits (with Defer); for Skip it equals Skip.
	Reason Reason
}

func skip(r Reason) Decision { return Decision{Skip: r, Reason: r} }

// Check applies the send-time rules that need no counters: erasure, consent and opt-out
// (read fresh), suppression and bad contact, staleness, then the gate (quiet hours of
// the weekday, holidays and closed days for the classes that avoid them, an unknown
// zone). Caps are checked by the caller against atomic counters; CapDecision says what
// to do when they are full.
func (p Policy) Check(r Reminder, v CustomerView, now time.Time) Decision {
	if reason := v.Permits(r.Category, r.Channel); reason != ReasonNone {
		return skip(reason)
	}
	if !r.NotAfter.IsZero() && now.After(r.NotAfter) {
		return skip(ReasonStale)
	}
	class := p.ClassOf(r)
	g := p.Gate(v, class)
	blocked := g.Blocked(now)
	if blocked == ReasonNone {
		return Decision{Send: true}
	}
	if class.Drops() {
		return skip(blocked)
	}
	next, ok := g.Next(now)
	switch {
	case !ok && g.unknown:
		return skip(ReasonZoneUnknown)
	case !ok, !r.NotAfter.IsZero() && next.After(r.NotAfter):
		return skip(blocked)
	}
	return Decision{Defer: next, Reason: blocked}
}

// CapDecision says what to do when the cap window w is full (the week's when
// weekFull): a class that drops is suppressed; one that defers waits for the window
// that resets, unless that is past its NotAfter.
func (p Policy) CapDecision(r Reminder, class Class, w CapWindows, weekFull bool) Decision {
	reason := CapReason(r.Category, weekFull)
	next := w.NextDay
	if weekFull {
		next = w.NextWeek
	}
	if class.Drops() || next.IsZero() || (!r.NotAfter.IsZero() && next.After(r.NotAfter)) {
		return skip(reason)
	}
	return Decision{Defer: next, Reason: reason}
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

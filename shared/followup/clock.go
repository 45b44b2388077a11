package followup

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Offset is a calendar-aware delay such as "3d", "48h", "-1mo" or "30m". Days and months
// are applied in the customer's time zone so "3d at 10:00" stays 10:00 across a DST change.
type Offset struct {
	Months int
	Days   int
	Dur    time.Duration
	text   string
}

// ParseOffset reads a signed number followed by a unit: m (minutes), h, d, w, mo, y, or "0".
func ParseOffset(s string) (Offset, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return Offset{text: "0"}, nil
	}
	units := []struct {
		suffix string
		apply  func(n int) Offset
	}{
		{"mo", func(n int) Offset { return Offset{Months: n} }},
		{"y", func(n int) Offset { return Offset{Months: 12 * n} }},
		{"w", func(n int) Offset { return Offset{Days: 7 * n} }},
		{"d", func(n int) Offset { return Offset{Days: n} }},
		{"h", func(n int) Offset { return Offset{Dur: time.Duration(n) * time.Hour} }},
		{"m", func(n int) Offset { return Offset{Dur: time.Duration(n) * time.Minute} }},
	}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.Atoi(num)
			if err != nil {
				return Offset{}, fmt.Errorf("offset %q: want a whole number before %q", s, u.suffix)
			}
			o := u.apply(n)
			o.text = s
			return o, nil
		}
	}
	return Offset{}, fmt.Errorf("offset %q: unknown unit (use m, h, d, w, mo, y)", s)
}

// MustOffset is for literals in tests and code, never for input.
func mustOffset(s string) Offset {
	o, err := ParseOffset(s)
	if err != nil {
		panic(err)
	}
	return o
}

// IsZero reports whether the offset moves nothing.
func (o Offset) IsZero() bool { return o.Months == 0 && o.Days == 0 && o.Dur == 0 }

// Negative reports whether the offset points into the past.
func (o Offset) Negative() bool { return o.Months < 0 || o.Days < 0 || o.Dur < 0 }

// Fixed reports whether the offset is a plain duration (no calendar parts).
func (o Offset) Fixed() bool { return o.Months == 0 && o.Days == 0 }

// From applies the offset to t in t's location.
func (o Offset) From(t time.Time) time.Time { return t.AddDate(0, o.Months, o.Days).Add(o.Dur) }

func (o Offset) String() string {
	if o.text != "" {
		return o.text
	}
	switch {
	case o.IsZero():
		return "0"
	case o.Days == 0 && o.Dur == 0:
		return fmt.Sprintf("%dmo", o.Months)
	case o.Months == 0 && o.Dur == 0:
		return fmt.Sprintf("%dd", o.Days)
	case o.Fixed() && o.Dur%time.Minute == 0:
		return fmt.Sprintf("%dm", o.Dur/time.Minute)
	}
	return fmt.Sprintf("%dmo%dd%s", o.Months, o.Days, o.Dur) // not parseable: built in code only
}

func (o Offset) MarshalJSON() ([]byte, error) { return json.Marshal(o.String()) }

func (o *Offset) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("offset: want a string like \"3d\": %w", err)
	}
	p, err := ParseOffset(s)
	if err != nil {
		return err
	}
	*o = p
	return nil
}

// ClockTime is a local time of day, "HH:MM". The zero value with set=false means "not given".
type ClockTime struct {
	Minutes int
	set     bool
}

// ParseClock reads "HH:MM" (24-hour).
func ParseClock(s string) (ClockTime, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 || len(m) != 2 {
		return ClockTime{}, fmt.Errorf("time of day %q: want HH:MM", s)
	}
	return ClockTime{Minutes: hh*60 + mm, set: true}, nil
}

func mustClock(s string) ClockTime {
	c, err := ParseClock(s)
	if err != nil {
		panic(err)
	}
	return c
}

// Set reports whether a time of day was given.
func (c ClockTime) Set() bool { return c.set }

// On returns the instant at this time of day on t's local date.
func (c ClockTime) On(t time.Time) time.Time {
	y, mo, d := t.Date()
	return time.Date(y, mo, d, c.Minutes/60, c.Minutes%60, 0, 0, t.Location())
}

func (c ClockTime) String() string {
	if !c.set {
		return ""
	}
	return fmt.Sprintf("%02d:%02d", c.Minutes/60, c.Minutes%60)
}

func (c ClockTime) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

func (c *ClockTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time of day: want a string like \"09:00\": %w", err)
	}
	if s == "" {
		*c = ClockTime{}
		return nil
	}
	p, err := ParseClock(s)
	if err != nil {
		return err
	}
	*c = p
	return nil
}

// minuteOfDay is the local minutes since midnight of t.
func minuteOfDay(t time.Time) int { return t.Hour()*60 + t.Minute() }

var zones sync.Map // name → *time.Location; LoadLocation parses zone data on every call

// Location resolves an IANA zone name, falling back to fallback for an empty or unknown
// name: a customer with a garbled zone still gets reminders, in the business's zone.
func Location(name, fallback string) *time.Location {
	for _, n := range []string{name, fallback} {
		if n == "" {
			continue
		}
		if l, ok := zones.Load(n); ok {
			return l.(*time.Location)
		}
		if l, err := time.LoadLocation(n); err == nil {
			zones.Store(n, l)
			return l
		}
	}
	return time.UTC
}

package followup

import (
	"strings"
	"sync"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
)

// Holidays is the calendar a class that avoids holidays waits through: mainland China's
// statutory holidays and make-up working days (调休) from github.com/6tail/lunar-go,
// which tracks the State Council's yearly notice, plus the business's own closed days.
type Holidays struct {
	cn     bool
	once   map[string]bool // "2025-12-24"
	annual map[string]bool // "12-24"
}

// holidays returns the policy's calendar, nil when it has none.
func (p Policy) holidays() *Holidays {
	h := &Holidays{cn: p.Holidays.Calendar == "CN", once: map[string]bool{}, annual: map[string]bool{}}
	for _, d := range p.Holidays.ClosedDays {
		if s, annual, ok := parseClosedDay(d); ok && annual {
			h.annual[s] = true
		} else if ok {
			h.once[s] = true
		}
	}
	if !h.cn && len(h.once) == 0 && len(h.annual) == 0 {
		return nil
	}
	return h
}

// parseClosedDay reads "2025-12-24" (once) or "--12-24" (every year).
func parseClosedDay(s string) (key string, annual, ok bool) {
	if md, found := strings.CutPrefix(s, "--"); found {
		if _, err := time.Parse("2006-01-02", "2024-"+md); err != nil {
			return "", false, false
		}
		return md, true, true
	}
	if _, err := time.Parse("2006-01-02", s); err != nil {
		return "", false, false
	}
	return s, false, true
}

// cnDay is what the statutory calendar says about one date.
type cnDay struct {
	name   string // 国庆节 …
	off    bool   // a statutory day off
	makeUp bool   // a weekend day worked in exchange (调休上班)
}

var cnDays sync.Map // "2025-10-01" → cnDay

// CNDay returns what mainland China's statutory calendar says about a local date: the
// holiday's name and whether it is a day off or a make-up working day.
func CNDay(day time.Time) (name string, off, makeUp bool) {
	key := day.Format("2006-01-02")
	if v, ok := cnDays.Load(key); ok {
		d := v.(cnDay)
		return d.name, d.off, d.makeUp
	}
	var d cnDay
	if h := HolidayUtil.GetHolidayByYmd(day.Year(), int(day.Month()), day.Day()); h != nil {
		d = cnDay{name: h.GetName(), off: !h.IsWork(), makeUp: h.IsWork()}
	}
	cnDays.Store(key, d)
	return d.name, d.off, d.makeUp
}

// CNCalendarEnds is the last year the bundled statutory calendar covers (a test fails
// a year before it runs out, so the dependency is upgraded in time).
func CNCalendarEnds() int {
	for y := time.Now().Year() + 5; y > 2000; y-- {
		if HolidayUtil.GetHolidaysByYear(y).Len() > 0 {
			return y
		}
	}
	return 0
}

// Off says why day (local midnight) is not a day to send on: holiday, closed_day, or
// ReasonNone.
func (h *Holidays) Off(day time.Time) Reason {
	if h == nil {
		return ReasonNone
	}
	key := day.Format("2006-01-02")
	if h.once[key] || h.annual[key[5:]] {
		return ReasonClosedDay
	}
	if h.cn {
		if _, off, _ := CNDay(day); off {
			return ReasonHoliday
		}
	}
	return ReasonNone
}

// Working reports whether day is a working day: not off, and Monday to Friday or a
// make-up working day.
func (h *Holidays) Working(day time.Time) bool {
	if h.Off(day) != ReasonNone {
		return false
	}
	if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
		return true
	}
	if h != nil && h.cn {
		_, _, makeUp := CNDay(day)
		return makeUp
	}
	return false
}

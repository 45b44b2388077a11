package followup

import (
	"fmt"
	"sync"
	"time"

	"github.com/6tail/lunar-go/calendar"
)

// BirthdayFrom reads a profile's birthday ("YYYY-MM-DD", or "--MM-DD" without the
// year) into the day a greeting goes on. With lunar set (the profile's birthdayLunar
// flag) the greeting follows the Chinese lunar calendar: the date of birth is turned
// into its lunar month and day, which fall on another Gregorian date every year. A
// lunar birthday needs the year of birth; without it, or for anything unreadable, the
// result is not Valid.
func BirthdayFrom(date string, lunar bool) Birthday {
	var y, m, d int
	if n, err := fmt.Sscanf(date, "%4d-%2d-%2d", &y, &m, &d); err != nil || n != 3 {
		if n, err := fmt.Sscanf(date, "--%2d-%2d", &m, &d); err != nil || n != 2 || lunar {
			return Birthday{}
		}
	}
	b := Birthday{Month: time.Month(m), Day: d}
	if !b.Valid() || (y != 0 && time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Day() != d) {
		return Birthday{}
	}
	if !lunar {
		return b
	}
	l := calendar.NewSolarFromYmd(y, m, d).GetLunar()
	lm := l.GetMonth()
	if lm < 0 {
		lm = -lm // born in a leap month: greeted in the month of that name
	}
	return Birthday{Month: time.Month(lm), Day: l.GetDay(), Lunar: true}
}

// lunarDay is a Gregorian date seen in the lunar calendar.
type lunarDay struct {
	year, month, day int
	leap             bool
	monthDays        int
}

var lunarDays sync.Map // "2025-10-06" → lunarDay

func lunarOf(day time.Time) lunarDay {
	key := day.Format("2006-01-02")
	if v, ok := lunarDays.Load(key); ok {
		return v.(lunarDay)
	}
	l := calendar.NewSolarFromYmd(day.Year(), int(day.Month()), day.Day()).GetLunar()
	ld := lunarDay{year: l.GetYear(), month: l.GetMonth(), day: l.GetDay()}
	if ld.month < 0 {
		ld.month, ld.leap = -ld.month, true
	}
	ld.monthDays = calendar.NewLunarMonthFromYm(l.GetYear(), l.GetMonth()).GetDayCount()
	lunarDays.Store(key, ld)
	return ld
}

// lunarBirthdayOn reports whether the local date day is b's lunar birthday, and the
// lunar year it belongs to. A birthday on the 30th is kept on the 29th in a short
// month; a leap month repeats no birthday.
func (b Birthday) lunarBirthdayOn(day time.Time) (lunarYear int, ok bool) {
	ld := lunarOf(day)
	if ld.leap || ld.month != int(b.Month) {
		return 0, false
	}
	if ld.day == b.Day || (ld.day == ld.monthDays && b.Day > ld.monthDays) {
		return ld.year, true
	}
	return 0, false
}

package scheduler

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// cron is AWS's six-field cron: minutes hours day-of-month month day-of-week year, with
// day-of-week 1-7 = SUN-SAT, and exactly one of day-of-month and day-of-week being "?".
type cron struct {
	src            string
	loc            *time.Location
	minutes, hours [60]bool
	months         [13]bool
	years          map[int]bool // nil = every year
	dom, dow       []dayRule    // nil = any ("?" or "*")
}

// dayRule matches one item of the day-of-month or day-of-week field.
type dayRule func(y int, m time.Month, d int) bool

var (
	monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
	dayNames   = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
)

func parseCron(body string, loc *time.Location) (*cron, error) {
	f := strings.Fields(body)
	if len(f) != 6 {
		return nil, fmt.Errorf("cron needs 6 fields (minutes hours day-of-month month day-of-week year), got %d", len(f))
	}
	c := &cron{src: "cron(" + body + ")", loc: loc}
	if err := setField(c.minutes[:], f[0], 0, 59, nil, "minutes"); err != nil {
		return nil, err
	}
	if err := setField(c.hours[:], f[1], 0, 23, nil, "hours"); err != nil {
		return nil, err
	}
	if err := setField(c.months[:], f[3], 1, 12, monthNames, "month"); err != nil {
		return nil, err
	}
	if f[5] != "*" {
		years := make([]bool, 2200)
		if err := setField(years, f[5], 1970, 2199, nil, "year"); err != nil {
			return nil, err
		}
		c.years = map[int]bool{}
		for y, ok := range years {
			if ok {
				c.years[y] = true
			}
		}
	}
	if (f[2] == "?") == (f[4] == "?") {
		return nil, fmt.Errorf("exactly one of day-of-month (%s) and day-of-week (%s) must be ?", f[2], f[4])
	}
	var err error
	if f[2] != "?" && f[2] != "*" {
		if c.dom, err = domRules(f[2]); err != nil {
			return nil, err
		}
	}
	if f[4] != "?" && f[4] != "*" {
		if c.dow, err = dowRules(f[4]); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// setField fills set for numbers, ranges, lists, steps and * in one field.
func setField(set []bool, field string, lo, hi int, names map[string]int, what string) error {
	for _, item := range strings.Split(field, ",") {
		step := 1
		if base, s, ok := strings.Cut(item, "/"); ok {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return fmt.Errorf("%s: bad step in %q", what, item)
			}
			item, step = base, n
		}
		from, to := lo, hi
		switch {
		case item == "*":
		case strings.Contains(item, "-"):
			a, b, _ := strings.Cut(item, "-")
			var err error
			if from, err = value(a, names); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			if to, err = value(b, names); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		default:
			v, err := value(item, names)
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			from = v
			if step == 1 {
				to = v
			}
		}
		if from < lo || to > hi || from > to {
			return fmt.Errorf("%s: %q is outside %d-%d", what, item, lo, hi)
		}
		for v := from; v <= to; v += step {
			set[v] = true
		}
	}
	return nil
}

func value(s string, names map[string]int) (int, error) {
	if v, ok := names[strings.ToUpper(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}

func daysIn(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }

func weekday(y int, m time.Month, d int) int { // 1 = Sunday, as AWS counts
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()) + 1
}

// domRules: numbers, ranges, lists, steps, L (last day), L-n, nW (nearest weekday), LW.
func domRules(field string) ([]dayRule, error) {
	var rules []dayRule
	for _, item := range strings.Split(field, ",") {
		switch {
		case item == "L":
			rules = append(rules, func(y int, m time.Month, d int) bool { return d == daysIn(y, m) })
		case strings.HasPrefix(item, "L-"):
			n, err := strconv.Atoi(item[2:])
			if err != nil || n < 0 || n > 30 {
				return nil, fmt.Errorf("day-of-month: bad %q", item)
			}
			rules = append(rules, func(y int, m time.Month, d int) bool { return d == daysIn(y, m)-n })
		case item == "LW":
			rules = append(rules, func(y int, m time.Month, d int) bool { return d == nearestWeekday(y, m, daysIn(y, m)) })
		case strings.HasSuffix(item, "W"):
			n, err := strconv.Atoi(strings.TrimSuffix(item, "W"))
			if err != nil || n < 1 || n > 31 {
				return nil, fmt.Errorf("day-of-month: bad %q", item)
			}
			rules = append(rules, func(y int, m time.Month, d int) bool {
				return n <= daysIn(y, m) && d == nearestWeekday(y, m, n)
			})
		default:
			var set [32]bool
			if err := setField(set[:], item, 1, 31, nil, "day-of-month"); err != nil {
				return nil, err
			}
			rules = append(rules, func(_ int, _ time.Month, d int) bool { return set[d] })
		}
	}
	return rules, nil
}

// nearestWeekday is the Monday-Friday closest to day n without leaving the month.
func nearestWeekday(y int, m time.Month, n int) int {
	switch weekday(y, m, n) {
	case 7: // Saturday
		if n == 1 {
			return 3
		}
		return n - 1
	case 1: // Sunday
		if n == daysIn(y, m) {
			return n - 2
		}
		return n + 1
	}
	return n
}

// dowRules: numbers or names, ranges, lists, steps, nL (last n-day of the month), n#k
// (k-th n-day), and L alone (Saturday, the last day of the week).
func dowRules(field string) ([]dayRule, error) {
	var rules []dayRule
	for _, item := range strings.Split(field, ",") {
		switch {
		case item == "L":
			rules = append(rules, func(y int, m time.Month, d int) bool { return weekday(y, m, d) == 7 })
		case len(item) > 1 && strings.HasSuffix(item, "L"):
			wd, err := value(strings.TrimSuffix(item, "L"), dayNames)
			if err != nil || wd < 1 || wd > 7 {
				return nil, fmt.Errorf("day-of-week: bad %q", item)
			}
			rules = append(rules, func(y int, m time.Month, d int) bool {
				return weekday(y, m, d) == wd && d+7 > daysIn(y, m)
			})
		case strings.Contains(item, "#"):
			a, b, _ := strings.Cut(item, "#")
			wd, err1 := value(a, dayNames)
			k, err2 := strconv.Atoi(b)
			if err1 != nil || err2 != nil || wd < 1 || wd > 7 || k < 1 || k > 5 {
				return nil, fmt.Errorf("day-of-week: bad %q", item)
			}
			rules = append(rules, func(y int, m time.Month, d int) bool {
				return weekday(y, m, d) == wd && (d-1)/7+1 == k
			})
		default:
			var set [8]bool
			if err := setField(set[:], item, 1, 7, dayNames, "day-of-week"); err != nil {
				return nil, err
			}
			rules = append(rules, func(y int, m time.Month, d int) bool { return set[weekday(y, m, d)] })
		}
	}
	return rules, nil
}

func anyRule(rules []dayRule, y int, m time.Month, d int) bool {
	if rules == nil {
		return true
	}
	for _, r := range rules {
		if r(y, m, d) {
			return true
		}
	}
	return false
}

// Next walks wall-clock candidates in the schedule's zone. A wall time that does not
// exist (spring forward) is skipped; one that happens twice (fall back) fires once, at
// its first occurrence: EventBridge Scheduler's documented DST behaviour.
func (c *cron) Next(after time.Time) time.Time {
	start := after.In(c.loc)
	sy, sm, sd := start.Date()
	first := true
	for y := sy; y <= 2199; y++ {
		if c.years != nil && !c.years[y] {
			first = false
			continue
		}
		m0 := time.January
		if first && y == sy {
			m0 = sm
		}
		for m := m0; m <= time.December; m++ {
			if !c.months[m] {
				continue
			}
			d0 := 1
			if y == sy && m == sm {
				d0 = sd
			}
			for d := d0; d <= daysIn(y, m); d++ {
				if !anyRule(c.dom, y, m, d) || !anyRule(c.dow, y, m, d) {
					continue
				}
				if t, ok := c.firstOnDay(y, m, d, after); ok {
					return t
				}
			}
		}
		first = false
	}
	return time.Time{}
}

func (c *cron) firstOnDay(y int, m time.Month, d int, after time.Time) (time.Time, bool) {
	for h := 0; h < 24; h++ {
		if !c.hours[h] {
			continue
		}
		for mi := 0; mi < 60; mi++ {
			if !c.minutes[mi] {
				continue
			}
			t := time.Date(y, m, d, h, mi, 0, 0, c.loc)
			if th, tm := t.Hour(), t.Minute(); th != h || tm != mi || t.Day() != d {
				continue // does not exist on this day (spring forward)
			}
			if earlier := t.Add(-time.Hour); earlier.Hour() == h && earlier.Minute() == mi && earlier.Day() == d {
				t = earlier // happens twice (fall back): the first one counts
			}
			if t.After(after) {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

func (c *cron) String() string { return c.src }

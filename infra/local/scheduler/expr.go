package scheduler

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Expression is a parsed schedule expression; Next returns the first fire time strictly
// after t, or the zero time when there is none (an at() in the past, a cron past its
// years).
type Expression interface {
	Next(t time.Time) time.Time
	String() string
}

// Parse reads cron(...), rate(...) or at(...) as EventBridge Scheduler does. loc is the
// schedule's time zone; anchor is when a rate schedule starts (Scheduler starts one at
// creation when no StartDate is given, so it fires at anchor, anchor+N, ...).
func Parse(expr string, loc *time.Location, anchor time.Time) (Expression, error) {
	expr = strings.TrimSpace(expr)
	open, close := strings.IndexByte(expr, '('), strings.LastIndexByte(expr, ')')
	if open < 0 || close != len(expr)-1 {
		return nil, fmt.Errorf("schedule expression %q: want cron(...), rate(...) or at(...)", expr)
	}
	kind, body := expr[:open], strings.TrimSpace(expr[open+1:close])
	switch kind {
	case "cron":
		c, err := parseCron(body, loc)
		if err != nil {
			return nil, fmt.Errorf("schedule expression %q: %w", expr, err)
		}
		return c, nil
	case "rate":
		return parseRate(body, anchor)
	case "at":
		t, err := time.ParseInLocation("2006-01-02T15:04:05", body, loc)
		if err != nil {
			return nil, fmt.Errorf("schedule expression %q: at() wants yyyy-mm-ddThh:mm:ss: %w", expr, err)
		}
		return at(t), nil
	}
	return nil, fmt.Errorf("schedule expression %q: unknown kind %q", expr, kind)
}

type at time.Time

func (a at) Next(t time.Time) time.Time {
	if time.Time(a).After(t) {
		return time.Time(a)
	}
	return time.Time{}
}
func (a at) String() string { return "at(" + time.Time(a).Format("2006-01-02T15:04:05") + ")" }

type rate struct {
	every  time.Duration
	anchor time.Time
	src    string
}

func parseRate(body string, anchor time.Time) (Expression, error) {
	f := strings.Fields(body)
	if len(f) != 2 {
		return nil, fmt.Errorf("rate(%s): want rate(value unit)", body)
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("rate(%s): value must be a positive whole number", body)
	}
	unit := map[string]time.Duration{
		"minute": time.Minute, "minutes": time.Minute,
		"hour": time.Hour, "hours": time.Hour,
		"day": 24 * time.Hour, "days": 24 * time.Hour, // a day is 24 hours, whatever DST does
	}[f[1]]
	if unit == 0 {
		return nil, fmt.Errorf("rate(%s): unit must be minute(s), hour(s) or day(s)", body)
	}
	if (n == 1) != (f[1] == "minute" || f[1] == "hour" || f[1] == "day") {
		return nil, fmt.Errorf("rate(%s): use the singular unit for 1 and the plural otherwise", body)
	}
	return rate{every: time.Duration(n) * unit, anchor: anchor, src: "rate(" + body + ")"}, nil
}

func (r rate) Next(t time.Time) time.Time {
	if t.Before(r.anchor) {
		return r.anchor
	}
	k := t.Sub(r.anchor)/r.every + 1
	return r.anchor.Add(k * r.every)
}
func (r rate) String() string { return r.src }

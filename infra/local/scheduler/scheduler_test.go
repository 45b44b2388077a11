package scheduler_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tierflow/tierflow/infra/local/scheduler"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestNextFire(t *testing.T) {
	utc := time.UTC
	sh := mustLoc(t, "Asia/Shanghai")
	ny := mustLoc(t, "America/New_York")
	anchor := time.Date(2025, 3, 1, 10, 0, 0, 0, utc)
	cases := []struct {
		name  string
		expr  string
		loc   *time.Location
		after time.Time
		want  time.Time
	}{
		{"nightly 02:00 runs in the business time zone", "cron(0 2 * * ? *)", sh,
			time.Date(2025, 3, 1, 10, 0, 0, 0, utc), time.Date(2025, 3, 2, 2, 0, 0, 0, sh)},
		{"a fire exactly at 'after' is not repeated", "cron(0 2 * * ? *)", sh,
			time.Date(2025, 3, 2, 2, 0, 0, 0, sh), time.Date(2025, 3, 3, 2, 0, 0, 0, sh)},
		{"weekday business hours skip the weekend", "cron(0/15 9-17 ? * MON-FRI *)", utc,
			time.Date(2025, 3, 1, 12, 0, 0, 0, utc), time.Date(2025, 3, 3, 9, 0, 0, 0, utc)},
		{"steps within the hour", "cron(0/15 9-17 ? * MON-FRI *)", utc,
			time.Date(2025, 3, 3, 9, 0, 0, 0, utc), time.Date(2025, 3, 3, 9, 15, 0, 0, utc)},
		{"lists of hours", "cron(0 8,20 * * ? *)", utc,
			time.Date(2025, 3, 3, 9, 0, 0, 0, utc), time.Date(2025, 3, 3, 20, 0, 0, 0, utc)},
		{"L is the last day of a leap February", "cron(0 12 L * ? *)", utc,
			time.Date(2024, 2, 10, 0, 0, 0, 0, utc), time.Date(2024, 2, 29, 12, 0, 0, 0, utc)},
		{"3#2 is the second Tuesday", "cron(0 8 ? * 3#2 *)", utc,
			time.Date(2025, 1, 1, 0, 0, 0, 0, utc), time.Date(2025, 1, 14, 8, 0, 0, 0, utc)},
		{"6L is the last Friday", "cron(0 8 ? * 6L *)", utc,
			time.Date(2025, 1, 1, 0, 0, 0, 0, utc), time.Date(2025, 1, 31, 8, 0, 0, 0, utc)},
		{"15W moves a Saturday 15th to Friday", "cron(0 9 15W * ? *)", utc,
			time.Date(2025, 3, 1, 0, 0, 0, 0, utc), time.Date(2025, 3, 14, 9, 0, 0, 0, utc)},
		{"month names and a year", "cron(0 0 1 JAN ? 2030)", utc,
			time.Date(2025, 3, 1, 0, 0, 0, 0, utc), time.Date(2030, 1, 1, 0, 0, 0, 0, utc)},
		{"a cron past its years never fires", "cron(0 0 1 1 ? 2020)", utc,
			time.Date(2025, 3, 1, 0, 0, 0, 0, utc), time.Time{}},
		{"spring forward: a wall time that does not exist is skipped", "cron(30 2 * * ? *)", ny,
			time.Date(2025, 3, 8, 12, 0, 0, 0, ny), time.Date(2025, 3, 10, 2, 30, 0, 0, ny)},
		{"fall back: a repeated wall time fires at its first occurrence", "cron(30 1 * * ? *)", ny,
			time.Date(2025, 11, 2, 0, 0, 0, 0, ny), time.Date(2025, 11, 2, 5, 30, 0, 0, utc)},
		{"fall back: and only once", "cron(30 1 * * ? *)", ny,
			time.Date(2025, 11, 2, 5, 30, 0, 0, utc), time.Date(2025, 11, 3, 6, 30, 0, 0, utc)},
		{"rate fires at its start", "rate(5 minutes)", utc,
			anchor.Add(-time.Second), anchor},
		{"rate keeps its cadence", "rate(5 minutes)", utc,
			anchor.Add(7 * time.Minute), anchor.Add(10 * time.Minute)},
		{"rate of days is 24 hours across DST", "rate(1 day)", ny,
			anchor.Add(8 * 24 * time.Hour), anchor.Add(9 * 24 * time.Hour)},
		{"at fires once", "at(2025-03-01T19:00:00)", sh,
			anchor, time.Date(2025, 3, 1, 19, 0, 0, 0, sh)},
		{"at in the past never fires", "at(2025-03-01T18:00:00)", sh,
			time.Date(2025, 3, 2, 0, 0, 0, 0, sh), time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := scheduler.Parse(c.expr, c.loc, anchor)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Next(c.after); !got.Equal(c.want) {
				t.Fatalf("%s after %s = %s, want %s", c.expr, c.after, got, c.want)
			}
		})
	}
}

func TestInvalidExpressions(t *testing.T) {
	for _, expr := range []string{
		"cron(0 2 * * * *)",     // day-of-month and day-of-week both set
		"cron(0 2 ? * ? *)",     // both ?
		"cron(60 2 * * ? *)",    // minute out of range
		"cron(0 2 * * ?)",       // five fields
		"cron(0 2 ? * 8 *)",     // no day 8
		"rate(1 minutes)",       // plural for 1
		"rate(5 minute)",        // singular for 5
		"rate(0 minutes)",       // not positive
		"rate(5 weeks)",         // unit
		"every 5 minutes",       // not an expression
		"at(2025-03-01 18:00)",  // format
		"cron(0 2 * * ? 1960)",  // year range
		"cron(0/0 2 * * ? *)",   // zero step
		"cron(0 2 32W * ? *)",   // W day
		"cron(0 2 ? * MON#6 *)", // sixth Monday
	} {
		if _, err := scheduler.Parse(expr, time.UTC, time.Now()); err == nil {
			t.Errorf("%s parsed; want an error", expr)
		}
	}
}

// fakeClock moves only when the test says so.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	changed chan struct{}
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, changed: make(chan struct{}, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	c.changed <- struct{}{}
	return ch
}

// Advance moves the clock and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// awaitWaiters blocks until n timers are pending: the scheduler has gone back to waiting.
func (c *fakeClock) awaitWaiters(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got := len(c.waiters)
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-c.changed:
		case <-deadline:
			t.Fatalf("scheduler never waited on %d timers (has %d)", n, got)
		}
	}
}

type call struct{ fn, payload string }

func TestSchedulerFiresOnTheClock(t *testing.T) {
	start := time.Date(2025, 3, 1, 17, 58, 30, 0, time.UTC) // 01:58:30 in Shanghai
	clock := newFakeClock(start)
	calls := make(chan call, 10)
	invoke := func(_ context.Context, fn string, payload []byte) ([]byte, error) {
		calls <- call{fn, string(payload)}
		return []byte(`{}`), nil
	}
	s, err := scheduler.New([]scheduler.Job{
		{Function: "RetierFunction", Name: "Nightly", Expression: "cron(0 2 * * ? *)", TimeZone: "Asia/Shanghai", Input: `{"action":"nightly"}`, Enabled: true},
		{Function: "SweepFunction", Name: "Every5Minutes", Expression: "rate(5 minutes)", TimeZone: "Asia/Shanghai", Input: `{"action":"sweep"}`, Enabled: true},
	}, invoke, scheduler.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	defer s.Stop()

	// A rate schedule starts at once, as Scheduler's does without a StartDate.
	expect(t, calls, call{"SweepFunction", `{"action":"sweep"}`})
	clock.awaitWaiters(t, 2)
	clock.Advance(90 * time.Second) // 02:00 Shanghai
	expect(t, calls, call{"RetierFunction", `{"action":"nightly"}`})
	clock.awaitWaiters(t, 2)
	clock.Advance(4 * time.Minute) // start + 5m30s
	expect(t, calls, call{"SweepFunction", `{"action":"sweep"}`})

	out, err := s.Fire(context.Background(), "RetierFunction", "Nightly")
	if err != nil || string(out) != `{}` {
		t.Fatalf("manual fire: %s %v", out, err)
	}
	expect(t, calls, call{"RetierFunction", `{"action":"nightly"}`})
	if _, err := s.Fire(context.Background(), "RetierFunction", "Hourly"); !errors.Is(err, scheduler.ErrUnknownSchedule) {
		t.Fatalf("unknown schedule: %v", err)
	}
	for _, st := range s.Status() {
		if st.Fired == 0 || st.Next.IsZero() {
			t.Errorf("status %+v: want fired and a next fire time", st)
		}
	}
}

func expect(t *testing.T, calls <-chan call, want call) {
	t.Helper()
	select {
	case got := <-calls:
		if got != want {
			t.Fatalf("invoked %+v, want %+v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no invocation; want %+v", want)
	}
}

package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
)

// Calendar plans the calendar triggers (birthdays, weekly/monthly/quarterly/annual
// touches) once per business day: the first sweep of the day takes the day's marker
// counter and scans the customers, planning the policy's look-ahead window. Refs name the
// period, so overlapping windows plan nothing twice; a failed pass gives the marker back
// and the next sweep tries again.
type Calendar struct {
	Policy    followup.Policy
	Counters  app.Counters // the day's marker
	Customers Scanner      // every customer, in parallel segments
	Planner   *app.Planner
	Zone      *time.Location // the business day
	Now       func() time.Time
	Segments  int // parallel scan segments; 0 means 4
}

// Scanner reads every customer's contact view in one of several parallel segments
// (store.Contacts).
type Scanner interface {
	ScanContactViews(ctx context.Context, segment, segments int, fn func(followup.CustomerView) error) error
}

// Run plans the day's calendar if no sweep has yet; it returns the reminders created.
func (c *Calendar) Run(ctx context.Context) (ran bool, created int, err error) {
	now := c.Now()
	day := now.In(c.Zone).Format("2006-01-02")
	key := "calendar#" + day
	ok, _, err := c.Counters.Add(ctx, key, 1, 1, now.Add(72*time.Hour))
	if err != nil || !ok {
		return false, 0, err
	}
	segs := c.Segments
	if segs <= 0 {
		segs = 4
	}
	from := now
	to := c.Policy.Calendar.Lookahead.From(now)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for seg := range segs {
		wg.Go(func() {
			err := c.Customers.ScanContactViews(ctx, seg, segs, func(v followup.CustomerView) error {
				for _, t := range followup.Calendar(c.Policy, v, from, to) {
					res, err := c.Planner.Handle(ctx, t)
					if err != nil {
						return fmt.Errorf("calendar %s: %w", t.Kind, err)
					}
					mu.Lock()
					created += len(res.Created)
					mu.Unlock()
				}
				return nil
			})
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		c.Counters.Add(ctx, key, -1, -1, time.Time{}) //nolint:errcheck // if this fails too, tomorrow's overlapping window replans
		return true, created, firstErr
	}
	return true, created, nil
}

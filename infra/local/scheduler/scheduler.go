// Package scheduler fires the template's ScheduleV2 (EventBridge Scheduler) events
// locally: cron(...), rate(...) and at(...) expressions evaluated in each schedule's time
// zone, the schedule's Input passed to the function as is. Time comes from a Clock so the
// tests drive it by hand.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Clock is the scheduler's view of time.
type Clock interface {
	Now() time.Time
	// After fires once the clock has passed d from now.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Job is one schedule of one function.
type Job struct {
	Function   string // logical id
	Name       string // event name in the template
	Expression string
	TimeZone   string // IANA; "" = UTC
	Input      string // the event; "" gets Scheduler's default "{}"
	Enabled    bool
}

// Invoke runs a function with a payload.
type Invoke func(ctx context.Context, function string, payload []byte) ([]byte, error)

// ErrUnknownSchedule is returned by Fire for a schedule the template does not have.
var ErrUnknownSchedule = errors.New("unknown schedule")

// Scheduler fires jobs.
type Scheduler struct {
	invoke Invoke
	clock  Clock
	log    *slog.Logger
	jobs   []*job
	born   time.Time // when the schedules were "created": rate schedules start here

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type job struct {
	Job
	expr Expression

	mu       sync.Mutex
	next     time.Time
	last     time.Time
	lastErr  string
	fired    int
	inflight sync.WaitGroup
}

// Options tune a Scheduler.
type Options struct {
	Clock  Clock // default: the real clock
	Logger *slog.Logger
}

// New parses every job's expression now, so a bad template fails the start, not 2 a.m.
func New(jobs []Job, invoke Invoke, opts Options) (*Scheduler, error) {
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Clock.Now()
	s := &Scheduler{invoke: invoke, clock: opts.Clock, log: opts.Logger, born: now}
	for _, j := range jobs {
		loc := time.UTC
		if j.TimeZone != "" {
			var err error
			if loc, err = time.LoadLocation(j.TimeZone); err != nil {
				return nil, fmt.Errorf("schedule %s/%s: time zone %q: %w", j.Function, j.Name, j.TimeZone, err)
			}
		}
		expr, err := Parse(j.Expression, loc, now)
		if err != nil {
			return nil, fmt.Errorf("schedule %s/%s: %w", j.Function, j.Name, err)
		}
		s.jobs = append(s.jobs, &job{Job: j, expr: expr})
	}
	return s, nil
}

// Start runs every enabled job until Stop.
func (s *Scheduler) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	for _, j := range s.jobs {
		if !j.Enabled {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.run(ctx, j)
		}()
	}
}

func (s *Scheduler) run(ctx context.Context, j *job) {
	// The first fire is the first one at or after creation (a rate schedule's start);
	// later ones are strictly after the previous fire.
	from := s.born.Add(-time.Nanosecond)
	for {
		next := j.expr.Next(from)
		j.mu.Lock()
		j.next = next
		j.mu.Unlock()
		if next.IsZero() {
			return
		}
		select {
		case <-s.clock.After(next.Sub(s.clock.Now())):
		case <-ctx.Done():
			return
		}
		from = next
		j.inflight.Add(1)
		// Scheduler invokes asynchronously: a slow run does not delay the next fire.
		go func() {
			defer j.inflight.Done()
			s.fire(ctx, j, next)
		}()
	}
}

func (s *Scheduler) fire(ctx context.Context, j *job, at time.Time) ([]byte, error) {
	payload := j.Input
	if payload == "" {
		payload = "{}"
	}
	out, err := s.invoke(ctx, j.Function, []byte(payload))
	j.mu.Lock()
	j.fired++
	j.last = at
	j.lastErr = ""
	if err != nil {
		j.lastErr = err.Error()
	}
	j.mu.Unlock()
	if err != nil {
		s.log.Warn("scheduled invocation failed", "function", j.Function, "schedule", j.Name, "err", err)
	} else {
		s.log.Info("schedule fired", "function", j.Function, "schedule", j.Name, "at", at)
	}
	return out, err
}

// Fire runs one schedule now, whatever its expression says (the manual trigger), and
// returns the function's result.
func (s *Scheduler) Fire(ctx context.Context, function, name string) ([]byte, error) {
	for _, j := range s.jobs {
		if j.Function == function && j.Name == name {
			return s.fire(ctx, j, s.clock.Now())
		}
	}
	return nil, fmt.Errorf("%w: %s/%s", ErrUnknownSchedule, function, name)
}

// Status describes one schedule for the status page.
type Status struct {
	Function   string    `json:"function"`
	Name       string    `json:"name"`
	Expression string    `json:"expression"`
	TimeZone   string    `json:"timeZone,omitempty"`
	Enabled    bool      `json:"enabled"`
	Next       time.Time `json:"next,omitzero"`
	Last       time.Time `json:"last,omitzero"`
	LastError  string    `json:"lastError,omitempty"`
	Fired      int       `json:"fired"`
}

// Status lists every schedule.
func (s *Scheduler) Status() []Status {
	out := make([]Status, 0, len(s.jobs))
	for _, j := range s.jobs {
		j.mu.Lock()
		out = append(out, Status{Function: j.Function, Name: j.Name, Expression: j.Expression, TimeZone: j.TimeZone,
			Enabled: j.Enabled, Next: j.next, Last: j.last, LastError: j.lastErr, Fired: j.fired})
		j.mu.Unlock()
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Function+out[a].Name < out[b].Function+out[b].Name })
	return out
}

// Stop ends the loops and waits for invocations already started.
func (s *Scheduler) Stop() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	for _, j := range s.jobs {
		j.inflight.Wait()
	}
}

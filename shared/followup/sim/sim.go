// Package sim drives the real follow-up services (planning, sweep, dispatch, tasks) over
// the in-memory store with a fake clock, synthetic customers, simulated staff and a
// provider that injects timeouts, throttling, bad numbers and queue redeliveries. It
// measures what a customer would notice: messages per week, anything sent at night,
// duplicates, lateness of time-critical messages, and escalated tasks.
package sim

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/tierflow/tierflow/shared/feedback"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/followup/memstore"
	"github.com/tierflow/tierflow/shared/message"
	"github.com/tierflow/tierflow/shared/model"
)

// Config sizes a run and its fault rates (fractions of provider calls / queue messages).
type Config struct {
	Customers        int
	Days             int
	Seed             uint64
	Start            time.Time
	Step             time.Duration
	Redelivery       float64 // the same queue message handled twice, back to back
	LateRedelivery   float64 // …or again one step later
	TimeoutAfterSend float64 // provider accepted, caller saw a timeout
	TimeoutNoSend    float64 // provider did not accept, caller saw a timeout
	Throttle         float64 // retryable provider error
	Refused          float64 // the request never reached the provider (connection refused, DNS, TLS)
	BadNumber        float64 // permanent failure on SMS
	StaffDiligence   float64 // share of tasks staff finish before the deadline
	// NoLookup runs the provider without a status API, like SES v2 and End User
	// Messaging SMS: an expired claim cannot ask whether its message went out.
	NoLookup bool
	// Ports, when set, are the store the reminders, counters and staff directory live
	// in (e.g. the DynamoDB adapters); nil runs everything in memory (memstore).
	// Customer views, the dispatch queue and staff alerts stay in memory either way.
	Ports *Ports
	// Dispatchers is how many dispatchers handle a sweep's queue at the same time; a
	// redelivered message goes to the queue right behind itself, so two dispatchers
	// race on it. 0 or 1: one dispatcher, in queue order (a run is then reproducible).
	Dispatchers int
}

// Ports are the store adapters a run can work on instead of memory. The dispatcher
// sees Reminders and Counters as they are, so a store's one-write claim
// (app.Claimer) and cap reservation (app.CapReserver) are the ones exercised.
type Ports struct {
	Reminders app.Reminders
	Counters  app.Counters
	Staff     StaffDirectory
	// All lists every reminder and task in the store, for the measurement at the end.
	All func(ctx context.Context) ([]followup.Reminder, error)
}

// StaffDirectory is the staff port plus the registration the run's staff go through.
type StaffDirectory interface {
	app.Staff
	Register(ctx context.Context, store string, role model.Role, id string) error
}

// memPorts are the ports of the in-memory store.
func memPorts(s *memstore.Store) *Ports {
	return &Ports{Reminders: s, Counters: s, Staff: memStaff{s},
		All: func(context.Context) ([]followup.Reminder, error) { return s.All(), nil }}
}

type memStaff struct{ *memstore.Store }

func (m memStaff) Register(_ context.Context, store string, role model.Role, id string) error {
	ids, err := m.Members(context.Background(), store, role)
	if err != nil {
		return err
	}
	if !slices.Contains(ids, id) {
		m.SetStaff(store, role, append(ids, id)...)
	}
	return nil
}

// DefaultConfig is the run: 10,000 customers for 90 days, sweeping every 5 minutes.
func DefaultConfig() Config {
	return Config{
		Customers: 10000, Days: 90, Seed: 1, Start: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Step: 5 * time.Minute,
		Redelivery: 0.05, LateRedelivery: 0.02, TimeoutAfterSend: 0.01, TimeoutNoSend: 0.01, Throttle: 0.02, Refused: 0.01, BadNumber: 0.003,
		StaffDiligence: 0.85,
	}
}

// Report is what the run measured.
type Report struct {
	Customers, Days          int
	Sent                     int
	PerCustomerWeek          map[model.Category]float64
	QuietHourMessages        int // must be 0: per the policy's window of the local weekday
	HolidayMessages          int // messages of classes that avoid holidays sent on a statutory holiday: must be 0
	Duplicates               int // must be 0 with lookup
	CapViolations            int // (customer, category, local day) over the daily cap; must be 0
	CriticalSent             int
	LatenessMax, LatenessP99 time.Duration
	TasksCreated             int
	TasksCompleted           int
	TasksEscalated           int
	Results                  map[app.Result]int
	Skipped                  map[followup.Reason]int
	// Classes counts, per message class, what the store's final state says against the
	// provider's own log (see ClassCounts).
	Classes        map[string]*ClassCounts
	FaultsInjected int
	Redeliveries   int
	Complaints     int
	Steps          int
	ReminderCount  int
	Wall           time.Duration
}

// TimingBreaches lists how the run broke the rules every send obeys whatever the faults
// (the policy's quiet hours, statutory holidays for the classes that avoid them, the
// daily caps): nil for a run that kept them all.
func (r Report) TimingBreaches() []string {
	var out []string
	if r.QuietHourMessages != 0 {
		out = append(out, fmt.Sprintf("messages sent in quiet hours = %d, want 0", r.QuietHourMessages))
	}
	if r.HolidayMessages != 0 {
		out = append(out, fmt.Sprintf("messages of classes that avoid holidays sent on a statutory holiday = %d, want 0", r.HolidayMessages))
	}
	if r.CapViolations != 0 {
		out = append(out, fmt.Sprintf("daily cap exceeded %d times, want 0", r.CapViolations))
	}
	return out
}

// ClassCounts compares, for one message class, the store's final state with the
// provider's log.
type ClassCounts struct {
	Reminders int // message reminders planned
	Delivered int // distinct reminders in the provider's log
	// Duplicates: provider deliveries beyond the first of a reminder.
	Duplicates int
	// Losses: reminders that were due to go out — handed to the provider at least once —
	// that the provider never delivered and that ended for the provider's sake
	// (uncertain_send, retries_exhausted, or stale after backoffs) rather than by a
	// contact rule (a cap, a refused contact, a cancellation).
	Losses int
	// Misrecorded: settled reminders whose recorded outcome contradicts the log —
	// delivered but recorded as not sent, or recorded sent but never delivered.
	Misrecorded int
	// Faults injected on this class's sends, by kind.
	TimeoutAfterSend, TimeoutNoSend int
	// Suppressed counts the reasons of reminders that ended without a send.
	Suppressed map[followup.Reason]int
}

type action struct {
	at  time.Time
	seq int
	fn  func() error
}

type actions []action

func (a actions) Len() int { return len(a) }
func (a actions) Less(i, j int) bool {
	if c := a[i].at.Compare(a[j].at); c != 0 {
		return c < 0
	}
	return a[i].seq < a[j].seq
}
func (a actions) Swap(i, j int) { a[i], a[j] = a[j], a[i] }
func (a *actions) Push(x any)   { *a = append(*a, x.(action)) }
func (a *actions) Pop() any {
	o := *a
	x := o[len(o)-1]
	*a = o[:len(o)-1]
	return x
}

type run struct {
	cfg     Config
	now     time.Time
	mu      sync.Mutex // rng, rep and handed, while dispatchers run at the same time
	ports   *Ports
	rng     *rand.Rand
	policy  followup.Policy
	store   *memstore.Store
	outbox  *memstore.Outbox
	planner *app.Planner
	sweeper *app.Sweeper
	disp    *app.Dispatcher
	tasks   *app.Tasks
	queue   actions
	seq     int
	views   map[string]followup.CustomerView
	ids     []string // creation order: map order would make runs differ with one seed
	rep     Report
	seen    int // deliveries already looked at
	late    []string
	handed  map[string]bool // reminder ids the provider was asked to send
}

type links struct{}

func (links) Unsubscribe(id string) string  { return "https://t.example/u/" + id }
func (links) Survey(rid, cid string) string { return "https://t.example/s/" + rid }

var zones = []struct {
	name   string
	weight float64
}{{"Asia/Shanghai", 0.6}, {"America/New_York", 0.1}, {"Europe/London", 0.1}, {"Australia/Sydney", 0.1}, {"America/Los_Angeles", 0.1}}

// Run executes the simulation.
func Run(ctx context.Context, cfg Config) (Report, error) {
	started := time.Now()
	p, err := followup.DefaultPolicy()
	if err != nil {
		return Report{}, err
	}
	cat, err := message.Default()
	if err != nil {
		return Report{}, err
	}
	r := &run{cfg: cfg, now: cfg.Start, rng: rand.New(rand.NewPCG(cfg.Seed, 42)), policy: p, store: memstore.New(), views: map[string]followup.CustomerView{}, handed: map[string]bool{}}
	clock := func() time.Time { return r.now }
	r.outbox = memstore.NewOutbox(clock)
	r.outbox.Faults = r.fault
	r.outbox.NoLookup = cfg.NoLookup
	s := r.store
	r.ports = cfg.Ports
	if r.ports == nil {
		r.ports = memPorts(s)
	}
	rs, cs, staff := r.ports.Reminders, r.ports.Counters, r.ports.Staff
	r.planner = &app.Planner{Policy: p, Reminders: rs, Customers: s, Staff: staff, Counters: cs, Now: clock}
	r.sweeper = &app.Sweeper{Policy: p, Reminders: rs, Customers: s, Staff: staff, Counters: cs, Queue: s, Alerts: s, Now: clock}
	r.disp = &app.Dispatcher{Policy: p, Reminders: rs, Customers: s, Counters: cs, Sender: r.outbox, Catalog: cat, Links: links{}, Now: clock}
	r.tasks = &app.Tasks{Policy: p, Reminders: rs, Customers: s, Staff: staff, Counters: cs, Planner: r.planner, Now: clock}
	r.rep = Report{Customers: cfg.Customers, Days: cfg.Days, Results: map[app.Result]int{}, Skipped: map[followup.Reason]int{}, Classes: map[string]*ClassCounts{}}

	for st := 0; st < 10; st++ {
		store := fmt.Sprintf("s%d", st)
		for _, m := range []struct {
			role model.Role
			ids  []string
		}{{model.RoleAgent, []string{"-a1", "-a2", "-a3"}}, {model.RoleClinician, []string{"-m1"}}, {model.RoleAdmin, []string{"-o1"}}} {
			for _, id := range m.ids {
				if err := staff.Register(ctx, store, m.role, store+id); err != nil {
					return Report{}, fmt.Errorf("sim: staff: %w", err)
				}
			}
		}
	}
	for i := 0; i < cfg.Customers; i++ {
		r.customer(fmt.Sprintf("c%05d", i))
	}
	end := cfg.Start.AddDate(0, 0, cfg.Days)
	firstNight := true
	for ; r.now.Before(end); r.now = r.now.Add(cfg.Step) {
		r.rep.Steps++
		if r.now.Hour() == 0 && r.now.Minute() == 0 {
			if err := r.calendar(ctx, firstNight); err != nil {
				return r.rep, err
			}
			firstNight = false
		}
		for r.queue.Len() > 0 && !r.queue[0].at.After(r.now) {
			a := heap.Pop(&r.queue).(action)
			if err := a.fn(); err != nil {
				return r.rep, err
			}
		}
		if err := r.tick(ctx); err != nil {
			return r.rep, err
		}
		r.afterDeliveries(ctx)
	}
	if err := r.measure(ctx); err != nil {
		return r.rep, err
	}
	r.rep.Wall = time.Since(started)
	return r.rep, nil
}

func (r *run) at(t time.Time, fn func() error) {
	r.seq++
	heap.Push(&r.queue, action{at: t, seq: r.seq, fn: fn})
}

func (r *run) fault(m app.Outgoing) memstore.Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handed[m.ReminderID] = true
	x := r.rng.Float64()
	c := r.cfg
	f := memstore.Deliver
	switch {
	case x < c.TimeoutAfterSend:
		f = memstore.TimeoutAfterSend
	case x < c.TimeoutAfterSend+c.TimeoutNoSend:
		f = memstore.TimeoutNoSend
	case x < c.TimeoutAfterSend+c.TimeoutNoSend+c.Throttle:
		f = memstore.Retryable
	case x < c.TimeoutAfterSend+c.TimeoutNoSend+c.Throttle+c.Refused:
		f = memstore.Refused
	case m.Channel == model.ChannelSMS && x < c.TimeoutAfterSend+c.TimeoutNoSend+c.Throttle+c.Refused+c.BadNumber:
		f = memstore.Permanent
	}
	if f != memstore.Deliver {
		r.rep.FaultsInjected++
	}
	if f == memstore.TimeoutAfterSend || f == memstore.TimeoutNoSend {
		if rem, err := r.ports.Reminders.Get(context.Background(), m.ReminderID); err == nil {
			cc := r.class(rem.Class)
			if f == memstore.TimeoutAfterSend {
				cc.TimeoutAfterSend++
			} else {
				cc.TimeoutNoSend++
			}
		}
	}
	return f
}

func (r *run) class(name string) *ClassCounts {
	c, ok := r.rep.Classes[name]
	if !ok {
		c = &ClassCounts{Suppressed: map[followup.Reason]int{}}
		r.rep.Classes[name] = c
	}
	return c
}

func pick[T any](rng *rand.Rand, xs []T, weights []float64) T {
	x := rng.Float64()
	for i, w := range weights {
		if x < w {
			return xs[i]
		}
		x -= w
	}
	return xs[len(xs)-1]
}

func (r *run) customer(id string) {
	rng := r.rng
	zi := 0
	x := rng.Float64()
	for i, z := range zones {
		if x < z.weight {
			zi = i
			break
		}
		x -= z.weight
	}
	v := followup.CustomerView{
		ID: id, Store: fmt.Sprintf("s%d", rng.IntN(10)), TimeZone: zones[zi].name, Locale: "en", Name: "Customer " + id,
		Tier:     pick(rng, []model.Tier{model.TierA, model.TierB, model.TierC}, []float64{0.1, 0.3, 0.6}),
		Stage:    pick(rng, []model.Stage{model.StageActive, model.StageNew, model.StageDormant, model.StageSleeping, model.StageChurned}, []float64{0.55, 0.1, 0.2, 0.1, 0.05}),
		Birthday: followup.Birthday{Month: time.Month(1 + rng.IntN(12)), Day: 1 + rng.IntN(28)},
	}
	if zi == 0 {
		v.Locale = "zh-CN"
	}
	if rng.Float64() < 0.95 {
		v.Phone = "+86138" + id[1:]
	}
	if rng.Float64() < 0.8 {
		v.Email = id + "@example.com"
	}
	for _, ch := range []model.Channel{model.ChannelSMS, model.ChannelEmail} {
		if rng.Float64() < 0.6 {
			v.Consents = append(v.Consents, model.Consent{Category: model.CategoryMarketing, Channel: ch, Granted: true, At: r.cfg.Start.AddDate(-1, 0, 0), Source: "sim"})
		}
	}
	r.views[id] = v
	r.ids = append(r.ids, id)
	r.store.PutCustomer(v)

	span := time.Duration(r.cfg.Days) * 24 * time.Hour
	when := func() time.Time { return r.cfg.Start.Add(time.Duration(rng.Int64N(int64(span)))) }
	trig := func(t followup.Trigger) {
		t.CustomerID = id
		r.at(t.At, func() error { return r.handle(t) })
	}
	rate := map[model.Stage]float64{model.StageActive: 1.0 / 30, model.StageNew: 1.0 / 20}[v.Stage]
	for day := 0; day < r.cfg.Days; day++ {
		if rng.Float64() < rate {
			at := r.cfg.Start.AddDate(0, 0, day).Add(time.Duration(8+rng.IntN(12)) * time.Hour)
			pt := pick(rng, []string{"aesthetic", "general"}, []float64{0.3, 0.7})
			ref := fmt.Sprintf("svc-%s-%d", id, day)
			trig(followup.Trigger{Kind: followup.TriggerPurchase, Ref: ref, At: at})
			trig(followup.Trigger{Kind: followup.TriggerServiceDone, Ref: ref, At: at, ProjectType: pt})
			if pt == "aesthetic" {
				trig(followup.Trigger{Kind: followup.TriggerEffectEnding, Ref: ref, At: at.AddDate(0, 4+rng.IntN(3), 0)})
			}
		}
	}
	if rng.Float64() < 0.05 {
		g := pick(rng, []model.LeadGrade{model.LeadHot, model.LeadWarm, model.LeadCold}, []float64{0.2, 0.4, 0.4})
		trig(followup.Trigger{Kind: followup.TriggerNewLead, Ref: "lead-" + id, At: when(), Grade: g})
	}
	if rng.Float64() < 0.03 {
		trig(followup.Trigger{Kind: followup.TriggerNewCustomer, Ref: "new-" + id, At: when()})
	}
	if rng.Float64() < 0.5 {
		trig(followup.Trigger{Kind: followup.TriggerCustomerContact, Ref: "contact-" + id, At: when()})
	}
	if rng.Float64() < 0.1 {
		next := map[model.Stage]model.Stage{model.StageActive: model.StageDormant, model.StageNew: model.StageActive,
			model.StageDormant: model.StageSleeping, model.StageSleeping: model.StageChurned, model.StageChurned: model.StageActive}[v.Stage]
		t := followup.Trigger{Kind: followup.TriggerStageEntered, Ref: "stage-" + id, At: when(), Stage: next}
		r.at(t.At, func() error {
			r.store.EditCustomer(id, func(v *followup.CustomerView) { v.Stage = next })
			t.CustomerID = id
			return r.handle(t)
		})
	}
	if rng.Float64() < 0.05 && v.Tier != model.TierA {
		to := map[model.Tier]model.Tier{model.TierB: model.TierA, model.TierC: model.TierB}[v.Tier]
		if rng.Float64() < 0.5 {
			to = map[model.Tier]model.Tier{model.TierB: model.TierC, model.TierC: model.TierB}[v.Tier]
		}
		t := followup.Trigger{Kind: followup.TriggerTierChanged, Ref: "tier-" + id, At: when(), FromTier: v.Tier, ToTier: to}
		if t.FromTier != t.ToTier {
			r.at(t.At, func() error {
				r.store.EditCustomer(id, func(v *followup.CustomerView) { v.Tier = to })
				t.CustomerID = id
				return r.handle(t)
			})
		}
	}
	if rng.Float64() < 0.01 {
		t := followup.Trigger{Kind: followup.TriggerOptOut, CustomerID: id, Ref: "stop-" + id, At: when()}
		r.at(t.At, func() error {
			r.store.EditCustomer(id, func(v *followup.CustomerView) { v.MarketingOptOut = true })
			return r.handle(t)
		})
	}
	if rng.Float64() < 0.001 {
		t := followup.Trigger{Kind: followup.TriggerErasure, CustomerID: id, Ref: "erase-" + id, At: when()}
		r.at(t.At, func() error {
			r.store.EditCustomer(id, func(v *followup.CustomerView) { *v = followup.CustomerView{ID: id, Erased: true} })
			return r.handle(t)
		})
	}
}

func (r *run) handle(t followup.Trigger) error {
	res, err := r.planner.Handle(context.Background(), t)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	r.staffWork(res.Created)
	return nil
}

// staffWork schedules what simulated staff do with new tasks: most are finished before
// the deadline, the rest are left to escalate.
func (r *run) staffWork(created []followup.Reminder) {
	for _, t := range created {
		if !t.IsTask() {
			continue
		}
		r.rep.TasksCreated++
		if r.rng.Float64() >= r.cfg.StaffDiligence {
			continue
		}
		window := t.Task.DeadlineAt.Sub(t.DueAt)
		done := t.DueAt.Add(time.Duration(r.rng.Float64() * 0.9 * float64(window)))
		o := pick(r.rng, []followup.Outcome{followup.OutcomeReached, followup.OutcomeNoAnswer, followup.OutcomeBooked,
			followup.OutcomeWrongNumber, followup.OutcomeComplaint, followup.OutcomeDeclined}, []float64{0.55, 0.25, 0.12, 0.03, 0.02, 0.03})
		id, staff := t.ID, t.Task.Assignee
		r.at(done, func() error {
			res, err := r.tasks.Complete(context.Background(), id, staff, o)
			if errors.Is(err, followup.ErrTransition) {
				return nil // closed by an escalation meanwhile
			}
			if err != nil {
				return err
			}
			r.rep.TasksCompleted++
			if res.Retry != nil {
				r.staffWork([]followup.Reminder{*res.Retry})
			}
			r.staffWork(res.Followed.Created)
			return nil
		})
	}
}

func (r *run) calendar(ctx context.Context, first bool) error {
	look := r.policy.Calendar.Lookahead.From(r.now)
	from := r.now
	if !first {
		from = look.Add(-24 * time.Hour) // the new day only; overlap is harmless, ids collide
	}
	for _, id := range r.ids {
		v, err := r.store.ContactView(ctx, id)
		if err != nil {
			return err
		}
		for _, t := range followup.Calendar(r.policy, v, from, look) {
			if err := r.handle(t); err != nil {
				return err
			}
		}
	}
	return nil
}

// tick is one EventBridge sweep plus the dispatcher draining the queue, with redeliveries.
func (r *run) tick(ctx context.Context) error {
	res, err := r.sweeper.Run(ctx)
	if err != nil {
		return err
	}
	r.rep.TasksEscalated += len(res.Escalations)
	r.staffWork(res.Escalations)
	if r.cfg.Dispatchers > 1 {
		return r.dispatchConcurrently(ctx, r.store.Drain())
	}
	for _, id := range r.store.Drain() {
		n := 1
		if r.rng.Float64() < r.cfg.Redelivery {
			n = 2
		}
		if r.rng.Float64() < r.cfg.LateRedelivery {
			r.rep.Redeliveries++
			id := id
			r.at(r.now.Add(r.cfg.Step), func() error { return r.dispatch(ctx, id) })
		}
		for i := 0; i < n; i++ {
			if i > 0 {
				r.rep.Redeliveries++
			}
			if err := r.dispatch(ctx, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// dispatchConcurrently hands the queued ids to cfg.Dispatchers dispatchers at once, a
// redelivered id right behind itself so two dispatchers handle it at the same time.
func (r *run) dispatchConcurrently(ctx context.Context, ids []string) error {
	var jobs []string
	for _, id := range ids {
		jobs = append(jobs, id)
		if r.rng.Float64() < r.cfg.Redelivery {
			r.rep.Redeliveries++
			jobs = append(jobs, id)
		}
		if r.rng.Float64() < r.cfg.LateRedelivery {
			r.rep.Redeliveries++
			id := id
			r.at(r.now.Add(r.cfg.Step), func() error { return r.dispatch(ctx, id) })
		}
	}
	ch := make(chan string)
	var wg sync.WaitGroup
	var first error
	var once sync.Once
	for range r.cfg.Dispatchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ch {
				if err := r.dispatch(ctx, id); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for _, id := range jobs {
		ch <- id
	}
	close(ch)
	wg.Wait()
	return first
}

func (r *run) dispatch(ctx context.Context, id string) error {
	res, err := r.disp.Handle(ctx, id)
	if err != nil && !errors.Is(err, app.ErrUndeliverable) {
		return fmt.Errorf("dispatch %s: %w", id, err)
	}
	r.mu.Lock()
	r.rep.Results[res]++
	r.mu.Unlock()
	return nil
}

// afterDeliveries lets a share of customers answer the surveys they received.
func (r *run) afterDeliveries(ctx context.Context) {
	d := r.outbox.DeliveriesSince(r.seen)
	for _, m := range d {
		if m.Message.Subject == "" && m.Channel == model.ChannelEmail {
			continue
		}
		rem, err := r.ports.Reminders.Get(ctx, m.ReminderID)
		if err != nil || (rem.Template != "survey.csat" && rem.Template != "survey.annual") || r.rng.Float64() > 0.3 {
			continue
		}
		score := feedback.CSAT(pick(r.rng, []int{1, 2, 3, 4, 5}, []float64{0.04, 0.06, 0.2, 0.35, 0.35}))
		cust, ref := m.CustomerID, m.ReminderID
		r.at(m.At.Add(time.Duration(1+r.rng.IntN(48))*time.Hour), func() error {
			resp := feedback.Response{CSAT: &score}
			if resp.Complaint() {
				r.rep.Complaints++
			}
			res, err := r.planner.SurveyAnswered(ctx, cust, ref, r.now, resp)
			if err != nil {
				return err
			}
			r.staffWork(res.Created)
			return nil
		})
	}
	r.seen += len(d)
}

// measure checks deliveries independently of the domain's own helpers: the local
// weekday's window straight from the policy document and the zone database, holidays
// straight from the statutory calendar, per-day counts from the raw outbox, and each
// reminder's recorded outcome against the provider's log.
func (r *run) measure(ctx context.Context) error {
	all, err := r.ports.All(ctx)
	if err != nil {
		return fmt.Errorf("sim: list reminders: %w", err)
	}
	d := r.outbox.Deliveries()
	r.rep.Sent = len(d)
	r.rep.Duplicates = r.outbox.Duplicates()
	perCat := map[model.Category]int{}
	perDay := map[string]int{}
	delivered := map[string]int{}
	var lateness []time.Duration
	rems := map[string]followup.Reminder{}
	for _, rem := range all {
		rems[rem.ID] = rem
		if rem.Status == followup.StatusSkipped || rem.Status == followup.StatusCancelled {
			r.rep.Skipped[rem.Reason]++
		}
	}
	r.rep.ReminderCount = len(rems)
	caps := r.policy.Contact.Caps
	for _, m := range d {
		delivered[m.ReminderID]++
		rem, known := rems[m.ReminderID]
		if !known {
			rem.Category = m.Category // a message the store never planned: classed by its category
		}
		class := r.policy.ClassOf(rem)
		zone := r.views[m.CustomerID].TimeZone
		loc, _ := time.LoadLocation(zone)
		local := m.At.In(loc)
		w := r.policy.Contact.QuietHours.Day(local.Weekday())
		minute := local.Hour()*60 + local.Minute()
		if minute < w.End.Minutes || (w.Start.Minutes != 0 && minute >= w.Start.Minutes) {
			r.rep.QuietHourMessages++
		}
		if _, off, _ := followup.CNDay(time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)); off && class.AvoidHolidays {
			r.rep.HolidayMessages++
		}
		perCat[m.Category]++
		if class.Capped && delivered[m.ReminderID] == 1 { // a duplicate is counted as such, not against the cap
			key := m.CustomerID + string(m.Category) + local.Format("2006-01-02")
			perDay[key]++
			if perDay[key] > caps[m.Category].PerDay {
				r.rep.CapViolations++
			}
		}
		if rem.TimeCritical {
			r.rep.CriticalSent++
			lateness = append(lateness, max(0, m.At.Sub(rem.PlannedAt)))
		}
	}
	for id, rem := range rems {
		if rem.IsTask() {
			continue
		}
		cc := r.class(rem.Class)
		cc.Reminders++
		n := delivered[id]
		if n > 0 {
			cc.Delivered++
			cc.Duplicates += n - 1
		}
		if !rem.Status.Terminal() {
			continue // still on its way when the run ended
		}
		recordedSent := rem.Status == followup.StatusSent || rem.Status == followup.StatusDelivered
		if recordedSent != (n > 0) {
			cc.Misrecorded++
		}
		if n == 0 && r.handed[id] && (rem.Reason == followup.ReasonUncertainSend || rem.Reason == followup.ReasonRetriesExhausted || rem.Reason == followup.ReasonStale) {
			cc.Losses++
		}
		if !recordedSent {
			cc.Suppressed[rem.Account().Reason]++
		}
	}
	weeks := float64(r.cfg.Days) / 7
	r.rep.PerCustomerWeek = map[model.Category]float64{}
	for c, n := range perCat {
		r.rep.PerCustomerWeek[c] = float64(n) / float64(r.cfg.Customers) / weeks
	}
	if len(lateness) > 0 {
		slices.Sort(lateness)
		r.rep.LatenessMax = lateness[len(lateness)-1]
		r.rep.LatenessP99 = lateness[(len(lateness)*99)/100]
	}
	return nil
}

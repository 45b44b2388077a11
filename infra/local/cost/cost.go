// Package cost measures what tierflow's budgeted operations cost in DynamoDB request
// units, against DynamoDB Local with ReturnConsumedCapacity (the store's meter), and
// turns the measured units and write shares into a nightly bill for 1 M and 10 M
// customers (issue #13's `make cost`). It calls the code paths the functions run:
// shared/tiering/app's Ingest and Nightly, the store's lead resolution, the follow-up
// dispatcher. The owners of those paths list in /work/wt/NOTES-cost.md the functions that
// measure their operation; swap them in here when they land.
package cost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/dataset"
	"github.com/tierflow/tierflow/shared/followup"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/links"
	"github.com/tierflow/tierflow/shared/message"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/phone"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/tiering"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// Units are request units of one operation.
type Units struct {
	RRU float64 `json:"rru"`
	WRU float64 `json:"wru"`
}

func per(u store.Units, n int) Units {
	return Units{RRU: u.Read / float64(n), WRU: u.Write / float64(n)}
}

// Prices are DynamoDB on-demand prices: the model's assumption, named.
type Prices struct {
	RRU    float64 `json:"usd_per_million_rru"`
	WRU    float64 `json:"usd_per_million_wru"`
	Region string  `json:"region"`
}

// USEast1 is on-demand in us-east-1 after the November 2024 reduction.
var USEast1 = Prices{RRU: 0.125, WRU: 0.625, Region: "us-east-1"}

// Report is the document `make cost` prints (issue #13).
type Report struct {
	PerOperation map[string]Units `json:"per_operation"`
	WriteShare   struct {
		NoNewData     float64 `json:"no_new_data"`
		OneDayOfSales float64 `json:"one_day_of_sales"`
	} `json:"night_write_share"`
	USDPerNight struct {
		Customers1M  float64 `json:"customers_1m"`
		Customers10M float64 `json:"customers_10m"`
	} `json:"usd_per_night"`
	Prices Prices `json:"prices"`
}

// Operations are the keys of per_operation, in issue #13's order.
var Operations = []string{"lead_new", "lead_known", "transaction_new", "transaction_duplicate",
	"night_unchanged_customer", "night_changed_customer", "message_sent"}

// Options sizes a measurement.
type Options struct {
	Customers int // synthetic base for the nights; issue #13 asks for at least 5,000
	Samples   int // leads, transactions and messages measured per operation
	Prices    Prices
	// Prefix keeps this run's ids apart from anything else in the table.
	Prefix string
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err) // time/tzdata is linked by shared/customer: this cannot fail
	}
	return l
}()

// The lead forms carry phone numbers, read as public-api reads them.
func init() { customer.UsePhones(phone.Library{}) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Run measures every operation on table and prices a night.
func Run(ctx context.Context, table *store.Table, o Options) (Report, error) {
	if o.Samples <= 0 {
		o.Samples = 20
	}
	if o.Prices == (Prices{}) {
		o.Prices = USEast1
	}
	r := Report{PerOperation: map[string]Units{}, Prices: o.Prices}
	var err error
	var nu, ku Units
	if nu, ku, err = Leads(ctx, table, o); err != nil {
		return r, err
	}
	r.PerOperation["lead_new"], r.PerOperation["lead_known"] = nu, ku
	if nu, ku, err = Transactions(ctx, table, o); err != nil {
		return r, err
	}
	r.PerOperation["transaction_new"], r.PerOperation["transaction_duplicate"] = nu, ku
	if r.PerOperation["message_sent"], err = Message(ctx, table, o); err != nil {
		return r, err
	}
	n, err := Nights(ctx, table, o)
	if err != nil {
		return r, err
	}
	r.PerOperation["night_unchanged_customer"], r.PerOperation["night_changed_customer"] = n.Unchanged, n.Changed
	r.WriteShare.NoNewData, r.WriteShare.OneDayOfSales = n.ShareNoNewData, n.ShareOneDay
	r.USDPerNight.Customers1M = NightUSD(1_000_000, n, o.Prices)
	r.USDPerNight.Customers10M = NightUSD(10_000_000, n, o.Prices)
	return r, nil
}

// NightUSD is the model of a night for customers on-demand: every customer read as an
// unchanged one, and the measured share of a night after a day of sales written as a
// changed one. Storage, PITR, SQS and Lambda are not included.
func NightUSD(customers float64, n NightFigures, p Prices) float64 {
	s := n.ShareOneDay
	rru := customers * ((1-s)*n.Unchanged.RRU + s*n.Changed.RRU)
	wru := customers * ((1-s)*n.Unchanged.WRU + s*n.Changed.WRU)
	return rru/1e6*p.RRU + wru/1e6*p.WRU
}

var leadRules = customer.Rules{DefaultRegion: "CN", Stores: []string{"sh-01"}, DefaultStore: "sh-01"}

func validLead(form customer.LeadForm, at time.Time) (customer.Lead, customer.Grading, error) {
	l, err := leadRules.Validate(form, customer.Submission{At: at, IP: "203.0.113.9", Channel: "form"})
	if err != nil {
		return customer.Lead{}, customer.Grading{}, fmt.Errorf("lead form: %w", err)
	}
	return l, customer.DefaultGradePolicy().Grade(l), nil
}

// Leads measures the public-api lead path's store work: a new person (lookup and create)
// and a known person's second form.
func Leads(ctx context.Context, table *store.Table, o Options) (fresh, known Units, err error) {
	at := time.Date(2025, 3, 4, 10, 0, 0, 0, shanghai)
	rng := rand.New(rand.NewPCG(1, 2))
	var forms []customer.LeadForm
	before := table.Units.Snapshot()
	for i := range o.Samples {
		f := customer.LeadForm{Name: "Cost Person", Phone: fmt.Sprintf("+86133%08d", rng.IntN(100_000_000)),
			Email: fmt.Sprintf("cost-%s-%d@example.com", o.Prefix, i), Interest: "whitening", UTMSource: "baidu",
			ConsentService: customer.Checkbox{Set: true, Value: true}, ConsentTextVersion: "v1"}
		forms = append(forms, f)
		l, g, err := validLead(f, at)
		if err != nil {
			return Units{}, Units{}, err
		}
		if _, created, err := table.ResolveOrCreate(ctx, l, g, at); err != nil || !created {
			return Units{}, Units{}, fmt.Errorf("new lead: created=%v: %w", created, err)
		}
	}
	fresh = per(table.Units.Snapshot().Sub(before), o.Samples)
	before = table.Units.Snapshot()
	for i, f := range forms {
		later := at.Add(time.Duration(i+1) * time.Minute)
		l, g, err := validLead(customer.LeadForm{Phone: f.Phone, UTMSource: "wechat"}, later)
		if err != nil {
			return Units{}, Units{}, err
		}
		if _, created, err := table.ResolveOrCreate(ctx, l, g, later); err != nil || created {
			return Units{}, Units{}, fmt.Errorf("known lead: created=%v: %w", created, err)
		}
	}
	return fresh, per(table.Units.Snapshot().Sub(before), o.Samples), nil
}

type fixedPolicy struct{ p *tiering.Policy }

func (f fixedPolicy) CurrentPolicy(context.Context) (*tiering.Policy, bool, error) {
	return f.p, true, nil
}

// Transactions measures ingest of a new transaction of a known customer, follow-up
// planning included (the ingest function's Ingest with its planner), and of a
// redelivered duplicate.
func Transactions(ctx context.Context, table *store.Table, o Options) (fresh, dup Units, err error) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, shanghai)
	clock := func() time.Time { return now }
	planner, err := boot.Planner(table, clock)
	if err != nil {
		return Units{}, Units{}, err
	}
	in := &app.Ingest{Log: quiet, Policies: fixedPolicy{tiering.DefaultPolicy()}, Ledger: table, Planner: planner, Now: clock, CreateMissing: true}
	pol, err := in.Policy(ctx)
	if err != nil {
		return Units{}, Units{}, err
	}
	// Each customer's first purchase creates them; the second is the one measured.
	var txns []model.Txn
	for i := range o.Samples {
		cust := fmt.Sprintf("%s-t%d", o.Prefix, i)
		first := purchase(cust, fmt.Sprintf("%s-T%d-a", o.Prefix, i), now.Add(-48*time.Hour))
		if _, err := in.Apply(ctx, pol, first); err != nil {
			return Units{}, Units{}, fmt.Errorf("first purchase: %w", err)
		}
		txns = append(txns, purchase(cust, fmt.Sprintf("%s-T%d-b", o.Prefix, i), now.Add(-time.Hour)))
	}
	before := table.Units.Snapshot()
	for _, t := range txns {
		if res, err := in.Apply(ctx, pol, t); err != nil || res.Duplicate {
			return Units{}, Units{}, fmt.Errorf("new transaction: duplicate=%v: %w", res.Duplicate, err)
		}
	}
	fresh = per(table.Units.Snapshot().Sub(before), len(txns))
	before = table.Units.Snapshot()
	for _, t := range txns {
		if res, err := in.Apply(ctx, pol, t); err != nil || !res.Duplicate {
			return Units{}, Units{}, fmt.Errorf("redelivery: duplicate=%v: %w", res.Duplicate, err)
		}
	}
	return fresh, per(table.Units.Snapshot().Sub(before), len(txns)), nil
}

func purchase(cust, ext string, at time.Time) model.Txn { return purchaseIn("sh-01", cust, ext, at) }

func purchaseIn(store, cust, ext string, at time.Time) model.Txn {
	amount := model.Money(80000)
	return model.Txn{Source: "pos", ExternalID: ext, CustomerID: cust, Store: store, At: at, Amount: amount, Currency: "CNY",
		Items: []model.TxnItem{{SKU: "FILL-1", Name: "filler", Qty: 1, UnitPrice: amount}}, Once: model.OnceStore}
}

// okSender accepts every message: the provider's side costs no request units.
type okSender struct{}

func (okSender) Send(context.Context, fapp.Outgoing) (string, error) { return "cost-provider-id", nil }
func (okSender) Lookup(context.Context, model.Channel, string) (fapp.Lookup, string, error) {
	return fapp.LookupUnknown, "", nil
}

// Message measures the dispatch function's work for one due e-mail (a survey): claim,
// consent and caps, render, send, record; the first message to each customer, which
// also mints their unsubscribe link.
func Message(ctx context.Context, table *store.Table, o Options) (Units, error) {
	at := time.Date(2025, 3, 4, 10, 0, 0, 0, shanghai)
	clock := func() time.Time { return at }
	f, err := boot.NewFollowup(table, clock)
	if err != nil {
		return Units{}, err
	}
	cat, err := message.Default()
	if err != nil {
		return Units{}, err
	}
	lk := links.New("https://tierflow.example", f.Contacts, store.NewConsents(table, clock))
	d := &fapp.Dispatcher{Policy: f.Policy, Reminders: f.Reminders, Customers: f.Contacts, Counters: f.Counters,
		Sender: okSender{}, Catalog: cat, Links: lk, Consent: lk, Now: clock}
	var ids []string
	for i := range o.Samples {
		l, g, err := validLead(customer.LeadForm{Name: "Cost Reader", Email: fmt.Sprintf("msg-%s-%d@example.com", o.Prefix, i)}, at)
		if err != nil {
			return Units{}, err
		}
		p, _, err := table.ResolveOrCreate(ctx, l, g, at)
		if err != nil {
			return Units{}, err
		}
		id := fmt.Sprintf("rem_cost_%s_%d", o.Prefix, i)
		ids = append(ids, id)
		r := followup.Reminder{ID: id, CustomerID: p.ID, Store: p.Store, Trigger: followup.TriggerSurveyDue, TriggerRef: "cost",
			RuleID: "survey_due_email", Channel: model.ChannelEmail, Category: model.CategoryService, Template: "survey.csat",
			PlannedAt: at, DueAt: at, NotAfter: at.Add(24 * time.Hour), SweepAt: at, Status: followup.StatusPending}
		if _, err := f.Reminders.Create(ctx, []followup.Reminder{r}); err != nil {
			return Units{}, err
		}
	}
	before := table.Units.Snapshot()
	for _, id := range ids {
		res, err := d.Handle(ctx, id)
		if err != nil {
			return Units{}, fmt.Errorf("dispatch %s: %w", id, err)
		}
		if res != fapp.ResultSent {
			return Units{}, fmt.Errorf("dispatch %s: %s, want sent", id, res)
		}
	}
	return per(table.Units.Snapshot().Sub(before), len(ids)), nil
}

// NightFigures are what the nights measured.
type NightFigures struct {
	Unchanged, Changed          Units
	ShareNoNewData, ShareOneDay float64
	Customers                   int
}

type memQueue struct {
	mu     sync.Mutex
	bodies []string
}

func (q *memQueue) Send(_ context.Context, bodies []string) ([]bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.bodies = append(q.bodies, bodies...)
	sent := make([]bool, len(bodies))
	for i := range sent {
		sent[i] = true
	}
	return sent, nil
}

func (q *memQueue) pop() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.bodies) == 0 {
		return "", false
	}
	b := q.bodies[0]
	q.bodies = q.bodies[1:]
	return b, true
}

// Nights builds a synthetic base of o.Customers (two years of purchases), runs the
// nightly job on its first night (every buyer assessed and written), again the next
// night with no new data, then after a day of sales (each buyer buys with the base's
// own daily purchase rate), and solves the per-customer units of an unchanged and a
// changed customer from the last two nights.
func Nights(ctx context.Context, table *store.Table, o Options) (NightFigures, error) {
	day1 := time.Date(2025, 1, 1, 2, 0, 0, 0, shanghai)
	syn := dataset.Synth(dataset.SynthConfig{Seed: 7, Customers: o.Customers, From: day1.AddDate(-2, 0, 0), To: day1})
	if err := seedBase(ctx, table, syn, o.Prefix); err != nil {
		return NightFigures{}, err
	}
	now := day1
	clock := func() time.Time { return now }
	planner, err := boot.Planner(table, clock)
	if err != nil {
		return NightFigures{}, err
	}
	q := &memQueue{}
	night := &app.Nightly{Log: quiet, Policies: table, Runs: table, Profiles: table, Models: table, Queue: q,
		Planner: planner, Segments: 4, Zone: shanghai, Now: clock,
		CLV: app.CLVConfig{MinCustomers: 50, MinStoreCustomers: 200}}
	runNight := func(asOf time.Time, name string) (store.Units, app.RunSummary, error) {
		now = asOf
		before := table.Units.Snapshot()
		run, err := night.Start(ctx, app.StartRequest{Action: "nightly", AsOf: &asOf, RunID: "cost-" + name + "-" + o.Prefix})
		if err != nil {
			return store.Units{}, app.RunSummary{}, err
		}
		for {
			got, found, err := night.Runs.GetRun(ctx, run.ID)
			if err != nil || !found {
				return store.Units{}, app.RunSummary{}, fmt.Errorf("run %s: found=%v: %w", run.ID, found, err)
			}
			if got.Status == app.RunDone {
				if got.Summary == nil {
					return store.Units{}, app.RunSummary{}, fmt.Errorf("run %s has no summary", run.ID)
				}
				return table.Units.Snapshot().Sub(before), *got.Summary, nil
			}
			body, ok := q.pop()
			if !ok {
				return store.Units{}, app.RunSummary{}, fmt.Errorf("run %s is %s with nothing left on the queue", run.ID, got.Status)
			}
			var msg app.SegmentMsg
			if err := json.Unmarshal([]byte(body), &msg); err != nil {
				return store.Units{}, app.RunSummary{}, err
			}
			if err := night.Segment(ctx, msg); err != nil {
				return store.Units{}, app.RunSummary{}, fmt.Errorf("segment: %w", err)
			}
		}
	}
	u1, s1, err := runNight(day1, "first")
	if err != nil {
		return NightFigures{}, err
	}
	u2, s2, err := runNight(day1.AddDate(0, 0, 1), "quiet")
	if err != nil {
		return NightFigures{}, err
	}
	// A day of sales on day 2, through ingest as the function applies them.
	in := &app.Ingest{Log: quiet, Policies: table, Ledger: table, Planner: planner, Now: clock}
	pol, err := in.Policy(ctx)
	if err != nil {
		return NightFigures{}, err
	}
	rate := float64(len(syn.Txns)) / float64(len(syn.Customers)) / 730
	rng := rand.New(rand.NewPCG(11, 13))
	now = day1.AddDate(0, 0, 1).Add(8 * time.Hour)
	bought := map[string]bool{}
	for _, t := range syn.Txns {
		bought[t.CustomerID] = true
	}
	for _, c := range syn.Customers {
		// Customers with a purchase exist in the table; a lead's first purchase goes
		// through the API, which creates its profile (not measured here).
		if bought[c.ID] && rng.Float64() < rate {
			t := purchaseIn(c.Store, o.Prefix+"-"+c.ID, o.Prefix+"-sale-"+c.ID, now)
			if _, err := in.Apply(ctx, pol, t); err != nil {
				return NightFigures{}, fmt.Errorf("a day of sales: %w", err)
			}
		}
	}
	u3, s3, err := runNight(day1.AddDate(0, 0, 2), "sales")
	if err != nil {
		return NightFigures{}, err
	}
	if s1.Customers == 0 || s2.Customers == 0 || s3.Customers == 0 {
		return NightFigures{}, errors.New("a night saw no customers")
	}
	n := NightFigures{Customers: s2.Customers,
		ShareNoNewData: float64(s2.Changed) / float64(s2.Customers),
		ShareOneDay:    float64(s3.Changed) / float64(s3.Customers)}
	// The quiet night and the night after a day of sales are both ordinary nights (the
	// first writes every buyer, its predictions and their follow-up once): the two
	// unknowns come from them, and from the first night only if their shares coincide.
	a, b, ua, ub := s2, s3, u2, u3
	if s2.Changed*s3.Customers == s3.Changed*s2.Customers {
		a, b, ua, ub = s1, s2, u1, u2
	}
	n.Unchanged.RRU, n.Changed.RRU = solve(ua.Read, ub.Read, a, b)
	n.Unchanged.WRU, n.Changed.WRU = solve(ua.Write, ub.Write, a, b)
	return n, nil
}

// solve finds x (per unchanged customer) and y (per changed one) from two nights:
// total = (customers - changed)·x + changed·y. The run's own items (summaries, the
// model's sample and fits) are spread over the customers.
func solve(t1, t2 float64, s1, s2 app.RunSummary) (x, y float64) {
	a1, b1 := float64(s1.Customers-s1.Changed), float64(s1.Changed)
	a2, b2 := float64(s2.Customers-s2.Changed), float64(s2.Changed)
	det := a1*b2 - a2*b1
	if math.Abs(det) < 1e-9 {
		return t2 / float64(s2.Customers), t1 / float64(s1.Customers)
	}
	x = (t1*b2 - t2*b1) / det
	y = (a1*t2 - a2*t1) / det
	return math.Max(x, 0), math.Max(y, 0)
}

// seedBase writes the synthetic base through ingest (no planning: an import), 16
// customers at a time.
func seedBase(ctx context.Context, table *store.Table, syn dataset.Synthetic, prefix string) error {
	in := &app.Ingest{Log: quiet, Policies: fixedPolicy{tiering.DefaultPolicy()}, Ledger: table, Now: time.Now, CreateMissing: true}
	pol, err := in.Policy(ctx)
	if err != nil {
		return err
	}
	byCust := map[string][]model.Txn{}
	for _, t := range syn.Txns {
		byCust[t.CustomerID] = append(byCust[t.CustomerID], t)
	}
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, c := range syn.Customers {
		txns := byCust[c.ID]
		id := prefix + "-" + c.ID
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			for _, t := range txns {
				t.Source, t.ExternalID, t.CustomerID, t.Currency, t.Items = "synth", prefix+"-"+t.ExternalID, id, "CNY", nil
				if _, err := in.Apply(ctx, pol, t); err != nil {
					mu.Lock()
					first = cmp(first, fmt.Errorf("seed %s: %w", t.Ref(), err))
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

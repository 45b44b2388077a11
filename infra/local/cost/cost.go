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
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tierflow/tierflow/shared/customer"
	followupcost "github.com/tierflow/tierflow/shared/followup/cost"
	"github.com/tierflow/tierflow/shared/phone"
	"github.com/tierflow/tierflow/shared/store"
	tieringcost "github.com/tierflow/tierflow/shared/tiering/cost"
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
	// NightBase is the synthetic base the nights ran on: its customers (each night saw)
	// and the purchases of its day of sales.
	NightBase struct {
		Customers          int `json:"customers"`
		DayOfSales         int `json:"day_of_sales"`
		ProfileBytesMedian int `json:"profile_bytes_median"`
		ProfileBytesP90    int `json:"profile_bytes_p90"`
	} `json:"night_base"`
	// NightRunFixed is what a run costs whatever the number of customers (its header,
	// segment results, model samples and fits, per-store summaries): part of the bill.
	NightRunFixed Units `json:"night_run_fixed"`
	USDPerNight   struct {
		Customers1M  float64 `json:"customers_1m"`
		Customers10M float64 `json:"customers_10m"`
	} `json:"usd_per_night"`
	Prices Prices `json:"prices"`
}

// Operations are the keys of per_operation: issue #13's, in its order, then two that say
// more about two of them. transaction_new is a purchase of a customer the POS knows by
// number (a small profile); transaction_new_form_customer the average of a day of sales
// of the synthetic base, whose customers came through the lead form (name, phone,
// e-mail, consents) and have a history. night_changed_customer is what the night itself
// spends on a base customer whose tier moves (its share of the reads, its profile and
// history writes); night_changed_customer_with_followup adds the follow-up the moves
// plan, measured on the night after the day of sales, and is what the bill uses.
var Operations = []string{"lead_new", "lead_known", "transaction_new", "transaction_duplicate",
	"night_unchanged_customer", "night_changed_customer", "message_sent",
	"transaction_new_form_customer", "night_changed_customer_with_followup"}

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

// Run measures every operation on table and prices a night, through the functions the
// owners of each path measure (and budget) it with: store.LeadUnits (the lead path),
// tiering/cost (ingest and the nightly run), followup/cost (one message dispatched).
func Run(ctx context.Context, table *store.Table, o Options) (Report, error) {
	if o.Samples <= 0 {
		o.Samples = 20
	}
	if o.Prices == (Prices{}) {
		o.Prices = USEast1
	}
	r := Report{PerOperation: map[string]Units{}, Prices: o.Prices}
	fresh, known, err := store.LeadUnits(ctx, table, time.Date(2025, 3, 4, 10, 0, 0, 0, shanghai))
	if err != nil {
		return r, fmt.Errorf("leads: %w", err)
	}
	r.PerOperation["lead_new"], r.PerOperation["lead_known"] = per(fresh, 1), per(known, 1)
	in, err := tieringcost.MeasureIngest(ctx, table, "sh-01", o.Prefix)
	if err != nil {
		return r, fmt.Errorf("ingest: %w", err)
	}
	r.PerOperation["transaction_new"], r.PerOperation["transaction_duplicate"] = per(in.New, 1), per(in.Duplicate, 1)
	msg, err := followupcost.MessageSent(ctx, table, followupcost.Options{Messages: o.Samples})
	if err != nil {
		return r, fmt.Errorf("dispatch: %w", err)
	}
	r.PerOperation["message_sent"] = per(msg, 1)
	night, err := tieringcost.MeasureNight(ctx, table, o.Customers, o.Prefix+"n-")
	if err != nil {
		return r, fmt.Errorf("nights: %w", err)
	}
	n := NightFigures{Unchanged: per(night.PerUnchanged, 1), Changed: per(night.PerChanged, 1), Fixed: per(night.Fixed, 1),
		ShareNoNewData: night.NoNewDataShare, ShareOneDay: night.OneDayOfSalesShare, Customers: night.Customers}
	r.NightRunFixed = n.Fixed
	r.NightBase.Customers, r.NightBase.DayOfSales = night.Customers, night.Sales
	r.NightBase.ProfileBytesMedian, r.NightBase.ProfileBytesP90 = night.ProfileBytesMedian, night.ProfileBytesP90
	r.PerOperation["night_unchanged_customer"], r.PerOperation["night_changed_customer_with_followup"] = n.Unchanged, n.Changed
	r.PerOperation["night_changed_customer"] = Units{RRU: night.PerUnchanged.Read + night.MoveOfBaseCustomer.Read, WRU: night.PerUnchanged.Write + night.MoveOfBaseCustomer.Write}
	r.PerOperation["transaction_new_form_customer"] = per(night.PerSale, 1)
	r.WriteShare.NoNewData, r.WriteShare.OneDayOfSales = n.ShareNoNewData, n.ShareOneDay
	r.USDPerNight.Customers1M = NightUSD(1_000_000, n, o.Prices)
	r.USDPerNight.Customers10M = NightUSD(10_000_000, n, o.Prices)
	return r, nil
}

// NightUSD is the model of a night for customers on-demand (a model: it assumes the
// measured per-customer units and the write share of the night after a day of sales hold
// at that size): the run's fixed items, every customer's profile read, and the share
// written adding what a written customer adds. Storage, PITR, SQS and Lambda are not
// included.
func NightUSD(customers float64, n NightFigures, p Prices) float64 {
	s := n.ShareOneDay
	rru := n.Fixed.RRU + customers*(n.Unchanged.RRU+s*n.Changed.RRU)
	wru := n.Fixed.WRU + customers*(n.Unchanged.WRU+s*n.Changed.WRU)
	return rru/1e6*p.RRU + wru/1e6*p.WRU
}

// NightFigures are what the nights measured: per customer unchanged, what a written one
// adds, the run's fixed units, the write shares.
type NightFigures struct {
	Unchanged, Changed, Fixed   Units
	ShareNoNewData, ShareOneDay float64
	Customers                   int
}

// Budget is one of issue #13's targets, read off a report.
type Budget struct {
	Name string
	// Base says the target is about the nights, held on a base of at least BaseCustomers
	// (a smaller base spreads each shard's last page and the run's items thinner).
	Base bool
	Held func(Report) (ok bool, got string)
}

// BaseCustomers is the synthetic base issue #13 measures the nights on.
const BaseCustomers = 5000

func ru(u Units) string { return fmt.Sprintf("%.2f RRU + %.2f WRU", u.RRU, u.WRU) }

// Budgets are issue #13's targets.
var Budgets = []Budget{
	{"new lead ≤ 6 WRU", false, func(r Report) (bool, string) { u := r.PerOperation["lead_new"]; return u.WRU <= 6, ru(u) }},
	{"known person's lead ≤ 4 WRU", false, func(r Report) (bool, string) { u := r.PerOperation["lead_known"]; return u.WRU <= 4, ru(u) }},
	{"ingest, new transaction ≤ 1 RRU + 3 WRU", false, func(r Report) (bool, string) {
		u := r.PerOperation["transaction_new"]
		return u.RRU <= 1 && u.WRU <= 3, ru(u)
	}},
	{"ingest, duplicate ≤ 1 RRU, 0 WRU", false, func(r Report) (bool, string) {
		u := r.PerOperation["transaction_duplicate"]
		return u.RRU <= 1 && u.WRU == 0, ru(u)
	}},
	{"one message dispatched ≤ 6 RU", false, func(r Report) (bool, string) {
		u := r.PerOperation["message_sent"]
		return u.RRU+u.WRU <= 6, ru(u)
	}},
	{"night, customer with nothing new ≤ 0.5 RRU, 0 WRU", true, func(r Report) (bool, string) {
		u := r.PerOperation["night_unchanged_customer"]
		return u.RRU <= 0.5 && u.WRU == 0, ru(u)
	}},
	{"night, customer whose tier moved ≤ 4 RU (history item included)", true, func(r Report) (bool, string) {
		u := r.PerOperation["night_changed_customer"]
		return u.RRU+u.WRU <= 4, ru(u)
	}},
	{"night with no new data writes ≤ 2 % of customers", true, func(r Report) (bool, string) {
		return r.WriteShare.NoNewData <= 0.02, fmt.Sprintf("%.2f %%", 100*r.WriteShare.NoNewData)
	}},
	{"a night for 10 M customers ≤ $1.00", true, func(r Report) (bool, string) {
		return r.USDPerNight.Customers10M <= 1.00, fmt.Sprintf("$%.2f", r.USDPerNight.Customers10M)
	}},
}

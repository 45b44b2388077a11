package tiering

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// CohortMonths bounds how many months after the first purchase a cohort is followed:
// the compact state keeps the policy window's months only (Aggregates.Compact).
const CohortMonths = 12

// Cohorts counts customers by first-purchase month and current tier ("201103|A|0"),
// and for each later month k the customers of that cohort who bought in it
// ("201103|A|k"). Only cohorts whose first month is inside the policy window are
// counted: their later months are all still in the compact state, so a retention share
// is never an undercount of forgotten months. A nightly run counts every customer once
// per scope and adds segments' counts (Add).
type Cohorts map[string]int

func cohortKey(m Month, t model.Tier, k int) string {
	return strconv.Itoa(int(m)) + "|" + string(t) + "|" + strconv.Itoa(k)
}

// Count adds one customer, as of asOf under p.
func (c Cohorts) Count(p *Policy, a *Aggregates, tier model.Tier, asOf time.Time) {
	if a.FirstPurchase.IsZero() || tier == model.TierNone {
		return
	}
	first := MonthOf(a.FirstPurchase)
	if first < windowStart(p, asOf) || first > MonthOf(asOf) {
		return
	}
	c[cohortKey(first, tier, 0)]++
	for _, m := range a.Months {
		k := m.Month.index() - first.index()
		if k >= 1 && k <= CohortMonths && m.Purchases > 0 {
			c[cohortKey(first, tier, k)]++
		}
	}
}

// Add merges another scope's or segment's counts.
func (c Cohorts) Add(o Cohorts) {
	for k, v := range o {
		c[k] += v
	}
}

// CohortRow is one cohort of the retention report.
type CohortRow struct {
	Month     string        `json:"month"` // "2024-03"
	Tier      string        `json:"tier"`
	Customers int           `json:"customers"`
	Retained  []RetainedRow `json:"retained"`
}

// RetainedRow is how many of a cohort bought again monthsAfter its first month.
type RetainedRow struct {
	MonthsAfter int     `json:"monthsAfter"`
	Customers   int     `json:"customers"`
	Share       float64 `json:"share"`
}

// Rows lays the counts out by month then tier, each cohort's months after in order,
// every month from 1 up to the last one the run has seen (as of asOf), zeros included.
func (c Cohorts) Rows(asOf time.Time) ([]CohortRow, error) {
	type key struct {
		m Month
		t string
	}
	sizes := map[key]int{}
	later := map[key]map[int]int{}
	for k, v := range c {
		parts := strings.Split(k, "|")
		if len(parts) != 3 {
			return nil, fmt.Errorf("cohort count %q", k)
		}
		m, err1 := strconv.Atoi(parts[0])
		after, err2 := strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("cohort count %q", k)
		}
		ck := key{Month(m), parts[1]}
		if after == 0 {
			sizes[ck] += v
			continue
		}
		if later[ck] == nil {
			later[ck] = map[int]int{}
		}
		later[ck][after] += v
	}
	rows := make([]CohortRow, 0, len(sizes))
	now := MonthOf(asOf)
	for k, n := range sizes {
		r := CohortRow{Month: fmt.Sprintf("%04d-%02d", int(k.m)/100, int(k.m)%100), Tier: k.t, Customers: n, Retained: []RetainedRow{}}
		for after := 1; after <= min(CohortMonths, now.index()-k.m.index()); after++ {
			got := later[k][after]
			share := 0.0
			if n > 0 {
				share = float64(got) / float64(n)
			}
			r.Retained = append(r.Retained, RetainedRow{MonthsAfter: after, Customers: got, Share: share})
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Month != rows[j].Month {
			return rows[i].Month < rows[j].Month
		}
		return rows[i].Tier < rows[j].Tier
	})
	return rows, nil
}

// FunnelStages is the lifecycle funnel's order.
var FunnelStages = []model.Stage{model.StageLead, model.StageNew, model.StageActive, model.StageDormant, model.StageSleeping, model.StageChurned}

// FunnelRow is one stage of the lifecycle funnel.
type FunnelRow struct {
	Stage     string `json:"stage"`
	Customers int    `json:"customers"`
}

// Funnel lays a run's stage counts out in the funnel's order, every stage present.
func Funnel(stages map[string]int) []FunnelRow {
	out := make([]FunnelRow, len(FunnelStages))
	for i, s := range FunnelStages {
		out[i] = FunnelRow{Stage: string(s), Customers: stages[string(s)]}
	}
	return out
}

// SourceCount is what one acquisition source and campaign brought: every profile it
// brought (leads), those of them with a purchase (customers), and their net spend in the
// policy window (revenue, the same measure as a tier's revenue).
type SourceCount struct {
	Leads     int         `json:"leads" dynamodbav:"l"`
	Customers int         `json:"customers" dynamodbav:"c"`
	Revenue   model.Money `json:"revenue" dynamodbav:"r"`
}

// Sources counts profiles by acquisition source and campaign (the first touch's UTM).
type Sources map[string]SourceCount

// sourceSep cannot be typed into a form field (lead text is cleaned of control
// characters), so it cannot be part of a source or campaign.
const sourceSep = "\x1f"

// MaxSources bounds the source/campaign pairs a summary keeps (a campaign name is free
// text, and the summary lives in one item): past it, new pairs are counted together as
// source "(other)", so every total still adds up.
const MaxSources = 300

// OtherSource is the row the pairs past MaxSources are counted in.
const OtherSource = "(other)"

// key is k, or the overflow row when k is new and the summary is full.
func (s Sources) key(k string) string {
	if _, ok := s[k]; !ok && len(s) >= MaxSources {
		return OtherSource + sourceSep
	}
	return k
}

// Count adds one profile. A profile with no source (imported, or walked in) is counted
// under source "" and shown as "(none)".
func (s Sources) Count(source, campaign string, hasHistory bool, spend model.Money) {
	k := s.key(source + sourceSep + campaign)
	c := s[k]
	c.Leads++
	if hasHistory {
		c.Customers++
		c.Revenue += spend
	}
	s[k] = c
}

// Add merges another scope's or segment's counts.
func (s Sources) Add(o Sources) {
	for k, v := range o {
		k = s.key(k)
		c := s[k]
		c.Leads += v.Leads
		c.Customers += v.Customers
		c.Revenue += v.Revenue
		s[k] = c
	}
}

// SourceRow is one line of the sources report (revenue in major units, as text).
type SourceRow struct {
	Source    string `json:"source"`
	Campaign  string `json:"campaign"`
	Leads     int    `json:"leads"`
	Customers int    `json:"customers"`
	Revenue   string `json:"revenue"`
}

// Rows lays the counts out, most revenue first, then most leads, then by name.
func (s Sources) Rows() []SourceRow {
	type row struct {
		SourceRow
		rev model.Money
	}
	rows := make([]row, 0, len(s))
	for k, v := range s {
		src, camp, _ := strings.Cut(k, sourceSep)
		if src == "" {
			src = "(none)"
		}
		rows = append(rows, row{SourceRow{Source: src, Campaign: camp, Leads: v.Leads, Customers: v.Customers, Revenue: v.Revenue.String()}, v.Revenue})
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		switch {
		case a.rev != b.rev:
			return a.rev > b.rev
		case a.Leads != b.Leads:
			return a.Leads > b.Leads
		case a.Source != b.Source:
			return a.Source < b.Source
		}
		return a.Campaign < b.Campaign
	})
	out := make([]SourceRow, len(rows))
	for i, r := range rows {
		out[i] = r.SourceRow
	}
	return out
}

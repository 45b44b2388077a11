package tiering

import (
	"fmt"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// buys builds aggregates from purchases on the given days (amount 100 each).
func buys(days ...string) *Aggregates {
	a := &Aggregates{}
	for i, d := range days {
		at, err := time.Parse(time.DateOnly, d)
		if err != nil {
			panic(err)
		}
		a.Apply(model.Txn{ExternalID: fmt.Sprint(i), At: at, Amount: 100})
	}
	return a
}

func TestCohortsCountRetentionByFirstMonthAndTier(t *testing.T) {
	p := DefaultPolicy()
	asOf := time.Date(2024, 6, 15, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		add  func(c Cohorts)
		want string // fmt of the rows
	}{
		{"a customer who came back one and three months later is retained in both",
			func(c Cohorts) { c.Count(p, buys("2024-03-02", "2024-04-20", "2024-06-01"), model.TierA, asOf) },
			"[{2024-03 A 1 [{1 1 1} {2 0 0} {3 1 1}]}]"},
		{"two visits in the first month are no retention",
			func(c Cohorts) { c.Count(p, buys("2024-05-02", "2024-05-20"), model.TierB, asOf) },
			"[{2024-05 B 1 [{1 0 0}]}]"},
		{"half of a cohort came back",
			func(c Cohorts) {
				c.Count(p, buys("2024-04-02", "2024-05-03"), model.TierC, asOf)
				c.Count(p, buys("2024-04-09"), model.TierC, asOf)
			},
			"[{2024-04 C 2 [{1 1 0.5} {2 0 0}]}]"},
		{"tiers are separate cohorts, in month then tier order",
			func(c Cohorts) {
				c.Count(p, buys("2024-04-02"), model.TierB, asOf)
				c.Count(p, buys("2024-04-02"), model.TierA, asOf)
				c.Count(p, buys("2024-01-02"), model.TierC, asOf)
			},
			"[{2024-01 C 1 [{1 0 0} {2 0 0} {3 0 0} {4 0 0} {5 0 0}]} {2024-04 A 1 [{1 0 0} {2 0 0}]} {2024-04 B 1 [{1 0 0} {2 0 0}]}]"},
		{"a first purchase before the window is not counted (its months are forgotten)",
			func(c Cohorts) { c.Count(p, buys("2022-01-02", "2024-05-03"), model.TierA, asOf) }, "[]"},
		{"a lead has no cohort", func(c Cohorts) { c.Count(p, &Aggregates{}, model.TierNone, asOf) }, "[]"},
		{"segments add up",
			func(c Cohorts) {
				o := Cohorts{}
				o.Count(p, buys("2024-05-02", "2024-06-03"), model.TierA, asOf)
				c.Count(p, buys("2024-05-09"), model.TierA, asOf)
				c.Add(o)
			},
			"[{2024-05 A 2 [{1 1 0.5}]}]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Cohorts{}
			tc.add(c)
			rows, err := c.Rows(asOf)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(rows); got != tc.want {
				t.Fatalf("rows %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := (Cohorts{"nonsense": 1}).Rows(asOf); err == nil {
		t.Fatal("a malformed count must be an error, not a silent row")
	}
}

func TestFunnelListsEveryStageInLifecycleOrder(t *testing.T) {
	got := fmt.Sprint(Funnel(map[string]int{"active": 5, "lead": 9, "churned": 1}))
	if want := "[{lead 9} {new 0} {active 5} {dormant 0} {sleeping 0} {churned 1}]"; got != want {
		t.Fatalf("funnel %s, want %s", got, want)
	}
}

func TestSourcesCountLeadsCustomersAndRevenuePerCampaign(t *testing.T) {
	s := Sources{}
	s.Count("wechat", "spring", true, 12000)
	s.Count("wechat", "spring", false, 0)
	s.Count("wechat", "autumn", true, 500)
	s.Count("", "", true, 30000) // imported: no source
	o := Sources{}
	o.Count("baidu", "", false, 0)
	s.Add(o)
	got := fmt.Sprint(s.Rows())
	want := "[{(none)  1 1 300.00} {wechat spring 2 1 120.00} {wechat autumn 1 1 5.00} {baidu  1 0 0.00}]"
	if got != want {
		t.Fatalf("rows %s, want %s", got, want)
	}
}

func TestSourcesPastTheBoundAreCountedTogetherAndTotalsStillAddUp(t *testing.T) {
	s := Sources{}
	for i := 0; i < MaxSources+50; i++ {
		s.Count("ads", fmt.Sprint("campaign-", i), true, 100)
	}
	if len(s) != MaxSources+1 {
		t.Fatalf("%d pairs kept, want %d and one (other)", len(s), MaxSources)
	}
	leads, rev := 0, model.Money(0)
	for _, c := range s {
		leads += c.Leads
		rev += c.Revenue
	}
	if leads != MaxSources+50 || rev != 100*model.Money(MaxSources+50) || s[OtherSource+sourceSep].Leads != 50 {
		t.Fatalf("leads %d revenue %d other %+v", leads, rev, s[OtherSource+sourceSep])
	}
}

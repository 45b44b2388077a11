package sim

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
)

func check(t testing.TB, cfg Config, rep Report) {
	t.Helper()
	if rep.Sent == 0 || rep.CriticalSent == 0 || rep.TasksCreated == 0 || rep.FaultsInjected == 0 || rep.Redeliveries == 0 {
		t.Fatalf("the simulation exercised nothing: %+v", rep)
	}
	for _, b := range rep.TimingBreaches() {
		t.Error(b)
	}
	if rep.LatenessMax > time.Hour {
		t.Errorf("a time-critical message was %s late", rep.LatenessMax)
	}
	if rep.TasksEscalated == 0 {
		t.Errorf("no task escalated although staff leave some undone")
	}
	p, err := followup.DefaultPolicy()
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range rep.Classes {
		class, ok := p.Classes[name]
		if !ok {
			t.Errorf("reminders of unknown class %q", name)
			continue
		}
		for reason := range c.Suppressed {
			if !reason.Known() {
				t.Errorf("%s: a reminder ended unsent without a documented reason (%q)", name, reason)
			}
		}
		switch {
		case !cfg.NoLookup:
			// The provider answers "did it go out?": nothing is doubled, lost or misread.
			if c.Duplicates != 0 || c.Losses != 0 || c.Misrecorded != 0 {
				t.Errorf("%s with lookup: duplicates %d, losses %d, misrecorded %d; want 0", name, c.Duplicates, c.Losses, c.Misrecorded)
			}
		case class.Resends():
			// Without lookup a resend class risks a duplicate for each send that went out
			// but timed out; it loses (or misreads) only a message whose resend came past
			// its notAfter — at most one in ten of the uncertain sends.
			if c.Duplicates > c.TimeoutAfterSend || 10*c.Losses > c.TimeoutNoSend || 10*c.Misrecorded > c.TimeoutAfterSend {
				t.Errorf("%s without lookup: duplicates %d, losses %d, misrecorded %d (timeouts after/before send %d/%d)",
					name, c.Duplicates, c.Losses, c.Misrecorded, c.TimeoutAfterSend, c.TimeoutNoSend)
			}
		default:
			// A drop class never doubles: every timeout before the send is a loss (a retry
			// that ran past notAfter adds a few), every one after it a delivered message
			// recorded as uncertain_send.
			if c.Duplicates != 0 || c.Losses < c.TimeoutNoSend || 10*(c.Losses-c.TimeoutNoSend) > max(c.TimeoutNoSend, 10) || c.Misrecorded != c.TimeoutAfterSend {
				t.Errorf("%s without lookup: duplicates %d, losses %d (timeouts before send %d), misrecorded %d (timeouts after send %d)",
					name, c.Duplicates, c.Losses, c.TimeoutNoSend, c.Misrecorded, c.TimeoutAfterSend)
			}
		}
	}
}

// summary is one line per class, for the log and docs/followup.md.
func summary(rep Report) string {
	var names []string
	for k := range rep.Classes {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		c := rep.Classes[k]
		fmt.Fprintf(&b, "\n  %-9s reminders %6d delivered %6d duplicates %3d losses %3d misrecorded %3d (timeouts after/before send %d/%d) suppressed %v",
			k, c.Reminders, c.Delivered, c.Duplicates, c.Losses, c.Misrecorded, c.TimeoutAfterSend, c.TimeoutNoSend, c.Suppressed)
	}
	return b.String()
}

// The short variant of the 90-day run: same code, same faults, fewer customers, with a
// provider that answers lookups and with one that cannot (SES, End User Messaging SMS).
func TestSimShort(t *testing.T) {
	for _, noLookup := range []bool{false, true} {
		t.Run(fmt.Sprintf("lookup=%v", !noLookup), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Customers, cfg.Days, cfg.NoLookup = 500, 30, noLookup
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			check(t, cfg, rep)
			t.Logf("sent %d (service %.2f, marketing %.2f per customer-week), critical late max %s p99 %s, escalated %d, faults %d, redeliveries %d, wall %s%s",
				rep.Sent, rep.PerCustomerWeek[model.CategoryService], rep.PerCustomerWeek[model.CategoryMarketing],
				rep.LatenessMax, rep.LatenessP99, rep.TasksEscalated, rep.FaultsInjected, rep.Redeliveries, rep.Wall, summary(rep))
		})
	}
}

// Four dispatchers on each sweep's queue, a redelivered message racing its first
// delivery: the same checks hold in memory (the DynamoDB run is in sim/simstore).
func TestSimShortConcurrentDispatchers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Customers, cfg.Days, cfg.Dispatchers, cfg.Redelivery = 500, 30, 4, 0.10
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	check(t, cfg, rep)
	if rep.Duplicates != 0 {
		t.Errorf("duplicates = %d, want 0", rep.Duplicates)
	}
	t.Logf("sent %d, redeliveries %d, found claimed %d, already done %d, wall %s",
		rep.Sent, rep.Redeliveries, rep.Results[app.ResultInFlight], rep.Results[app.ResultDuplicate], rep.Wall)
}

// The checks above can fail: a report with a duplicate in a drop class, or a loss in
// a resend class, is caught.
func TestTheClassChecksCatchAViolation(t *testing.T) {
	base := Report{Sent: 1, CriticalSent: 1, TasksCreated: 1, FaultsInjected: 1, Redeliveries: 1, TasksEscalated: 1}
	for _, tc := range []struct {
		name string
		cls  string
		c    ClassCounts
	}{
		{"a duplicated marketing message", "marketing", ClassCounts{Duplicates: 1}},
		{"a lost service reminder", "service", ClassCounts{Losses: 1}},
		{"a lost marketing message the faults do not explain", "marketing", ClassCounts{Losses: 5, TimeoutNoSend: 1}},
		{"a survey recorded as sent that never went", "survey", ClassCounts{Misrecorded: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := base
			rep.Classes = map[string]*ClassCounts{tc.cls: &tc.c}
			ft := &fakeT{}
			check(ft, Config{NoLookup: true}, rep)
			if !ft.failed {
				t.Error("check passed")
			}
		})
	}
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()                   {}
func (f *fakeT) Errorf(string, ...any)     { f.failed = true }
func (f *fakeT) Fatalf(s string, a ...any) { f.failed = true }

// BenchmarkSim90Days10k is the full run, with and without provider lookup:
//
//	go test ./shared/followup/sim -run '^$' -bench Sim90Days -benchtime 1x -v
func BenchmarkSim90Days10k(b *testing.B) {
	for _, noLookup := range []bool{false, true} {
		b.Run(fmt.Sprintf("lookup=%v", !noLookup), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				cfg := DefaultConfig()
				cfg.NoLookup = noLookup
				rep, err := Run(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				check(b, cfg, rep)
				b.ReportMetric(rep.PerCustomerWeek[model.CategoryService], "service_msgs/customer-week")
				b.ReportMetric(rep.PerCustomerWeek[model.CategoryMarketing], "marketing_msgs/customer-week")
				b.ReportMetric(float64(rep.QuietHourMessages), "quiet_hour_msgs")
				b.ReportMetric(float64(rep.HolidayMessages), "holiday_msgs")
				b.ReportMetric(float64(rep.Duplicates), "duplicates")
				b.ReportMetric(rep.LatenessMax.Minutes(), "critical_late_max_min")
				b.ReportMetric(float64(rep.Sent)/rep.Wall.Seconds(), "msgs/s")
				b.Logf("sent %d, reminders %d, tasks %d created / %d completed / %d escalated, faults %d, redeliveries %d, critical %d (late p99 %s max %s), complaints %d, wall %s, per customer-week service %.2f marketing %.2f, skipped %v%s",
					rep.Sent, rep.ReminderCount, rep.TasksCreated, rep.TasksCompleted, rep.TasksEscalated, rep.FaultsInjected, rep.Redeliveries,
					rep.CriticalSent, rep.LatenessP99, rep.LatenessMax, rep.Complaints, rep.Wall,
					rep.PerCustomerWeek[model.CategoryService], rep.PerCustomerWeek[model.CategoryMarketing], rep.Skipped, summary(rep))
			}
		})
	}
}

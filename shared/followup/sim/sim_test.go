package sim

import (
	"context"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
)

func check(t testing.TB, rep Report) {
	t.Helper()
	if rep.Sent == 0 || rep.CriticalSent == 0 || rep.TasksCreated == 0 {
		t.Fatalf("the simulation exercised nothing: %+v", rep)
	}
	if rep.FaultsInjected == 0 || rep.Redeliveries == 0 || rep.Results[app.ResultRecovered] == 0 {
		t.Fatalf("no faults were exercised (faults %d, redeliveries %d, recovered %d)", rep.FaultsInjected, rep.Redeliveries, rep.Results[app.ResultRecovered])
	}
	if rep.QuietHourMessages != 0 {
		t.Errorf("messages sent in quiet hours = %d, want 0", rep.QuietHourMessages)
	}
	if rep.Duplicates != 0 {
		t.Errorf("duplicate messages = %d, want 0", rep.Duplicates)
	}
	if rep.CapViolations != 0 {
		t.Errorf("daily cap exceeded %d times, want 0", rep.CapViolations)
	}
	if rep.LatenessMax > time.Hour {
		t.Errorf("a time-critical message was %s late", rep.LatenessMax)
	}
	if rep.TasksEscalated == 0 {
		t.Errorf("no task escalated although staff leave some undone")
	}
}

// The short variant of the 90-day run: same code, same faults, fewer customers.
func TestSimShort(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Customers, cfg.Days = 500, 30
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	check(t, rep)
	t.Logf("sent %d (service %.2f, marketing %.2f per customer-week), critical late max %s p99 %s, escalated %d, faults %d, redeliveries %d, wall %s",
		rep.Sent, rep.PerCustomerWeek[model.CategoryService], rep.PerCustomerWeek[model.CategoryMarketing],
		rep.LatenessMax, rep.LatenessP99, rep.TasksEscalated, rep.FaultsInjected, rep.Redeliveries, rep.Wall)
}

// BenchmarkSim90Days10k is the full run:
//
//	go test ./shared/followup/sim -run '^$' -bench Sim90Days -benchtime 1x
func BenchmarkSim90Days10k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		rep, err := Run(context.Background(), DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		check(b, rep)
		b.ReportMetric(rep.PerCustomerWeek[model.CategoryService], "service_msgs/customer-week")
		b.ReportMetric(rep.PerCustomerWeek[model.CategoryMarketing], "marketing_msgs/customer-week")
		b.ReportMetric(float64(rep.QuietHourMessages), "quiet_hour_msgs")
		b.ReportMetric(float64(rep.Duplicates), "duplicates")
		b.ReportMetric(rep.LatenessMax.Minutes(), "critical_late_max_min")
		b.ReportMetric(rep.LatenessP99.Minutes(), "critical_late_p99_min")
		b.ReportMetric(float64(rep.TasksEscalated), "tasks_escalated")
		b.ReportMetric(float64(rep.Sent)/rep.Wall.Seconds(), "msgs/s")
		b.Logf("%+v", rep)
	}
}

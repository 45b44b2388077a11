package followup

import (
	"testing"
	"time"
)

func TestADeliveryReportSettlesWhatItCanAndNothingTwice(t *testing.T) {
	at := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	msg := func(st Status, reason Reason) Reminder {
		return Reminder{ID: "rem_1", Status: st, Reason: reason, SweepAt: at, LeaseUntil: at}
	}
	for _, c := range []struct {
		name    string
		r       Reminder
		d       DeliveryKind
		want    Status
		reason  Reason
		changed bool
	}{
		{"a timed-out claim whose send is reported is sent, not resent", msg(StatusSending, ""), DeliverySent, StatusSent, "", true},
		{"a retry whose first attempt is reported delivered is not sent again", msg(StatusRetry, ReasonProviderError), DeliveryDelivered, StatusDelivered, "", true},
		{"a send recorded uncertain that was delivered is recorded delivered", msg(StatusSkipped, ReasonUncertainSend), DeliveryDelivered, StatusDelivered, "", true},
		{"a sent message reported delivered is delivered", msg(StatusSent, ""), DeliveryDelivered, StatusDelivered, "", true},
		{"a delivered message never goes back to sent", msg(StatusDelivered, ""), DeliverySent, StatusDelivered, "", false},
		{"a complaint means it was delivered", msg(StatusSent, ""), DeliveryComplained, StatusDelivered, "", true},
		{"a permanent bounce fails a sent message", msg(StatusSent, ""), DeliveryBounced, StatusFailed, ReasonBounced, true},
		{"the same bounce twice changes nothing", msg(StatusFailed, ReasonBounced), DeliveryBounced, StatusFailed, ReasonBounced, false},
		{"a delay changes nothing", msg(StatusSent, ""), DeliveryDelayed, StatusSent, "", false},
		{"a report on a message skipped for consent changes nothing", msg(StatusSkipped, ReasonOptedOut), DeliveryDelivered, StatusSkipped, ReasonOptedOut, false},
		{"a report on a pending message changes nothing", msg(StatusPending, ""), DeliveryDelivered, StatusPending, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, changed := c.r.ApplyDelivery(Delivery{Kind: c.d, At: at})
			if got.Status != c.want || got.Reason != c.reason || changed != c.changed {
				t.Fatalf("%s/%s changed=%v, want %s/%s changed=%v", got.Status, got.Reason, changed, c.want, c.reason, c.changed)
			}
			if changed && got.Status.Terminal() && !got.SweepAt.IsZero() {
				t.Errorf("a settled reminder stays on the due index (sweepAt %v)", got.SweepAt)
			}
		})
	}
}

func TestTheSweepHandsAMessageOverWhenDueAndAgainEachRequeueWhileStillDue(t *testing.T) {
	due := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	const requeue = 15 * time.Minute
	pending := Reminder{Status: StatusPending, SweepAt: due}
	claimed := Reminder{Status: StatusSending, SweepAt: due, LeaseUntil: due.Add(10 * time.Minute)}
	for _, c := range []struct {
		name      string
		r         Reminder
		last, now time.Time
		want      bool
	}{
		{"due since the last sweep: handed over", pending, due.Add(-time.Minute), due.Add(4 * time.Minute), true},
		{"handed over by the previous sweep: not again", pending, due.Add(4 * time.Minute), due.Add(9 * time.Minute), false},
		{"still due a requeue later (its queue message lost): again", pending, due.Add(14 * time.Minute), due.Add(19 * time.Minute), true},
		{"not due yet", pending, due.Add(-10 * time.Minute), due.Add(-5 * time.Minute), false},
		{"the first sweep ever hands over everything due", pending, time.Time{}, due.Add(time.Hour), true},
		{"a claim within its lease is left alone", claimed, due.Add(4 * time.Minute), due.Add(9 * time.Minute), false},
		{"a claim whose lease expired since the last sweep: the dispatcher asks the provider", claimed, due.Add(9 * time.Minute), due.Add(14 * time.Minute), true},
		{"a settled reminder is never handed over", Reminder{Status: StatusSent}, time.Time{}, due, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.r.SweepNow(c.now, c.last, requeue); got != c.want {
				t.Fatalf("SweepNow = %v, want %v", got, c.want)
			}
		})
	}
}

// Command sweep runs on a schedule: it hands due reminders to the dispatch queue and
// escalates overdue staff tasks (shared/followup/app.Sweeper over the store's adapters),
// and once a day plans the calendar's reminders.
package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/queue"
	"github.com/tierflow/tierflow/shared/store"
)

func main() {
	b := boot.Init(context.Background())
	e := b.Env
	s, err := wire(b.Log, b.Table, queue.New(sqs.NewFromConfig(b.Cfg), e.Required("DISPATCH_QUEUE_URL")), b.Zone, e.Int("CALENDAR_SEGMENTS", 4), time.Now)
	boot.Check(b.Log, "configuration", e.Err(), err)
	lambda.Start(s.Handle)
}

// wire builds the sweep over a table: the sweeper and the calendar over the store's
// follow-up adapters, due reminders to the dispatch queue, escalations to the store's
// alert inbox.
func wire(log *slog.Logger, t *store.Table, dispatch *queue.Queue, zone *time.Location, segments int, now func() time.Time) (*Sweep, error) {
	f, err := boot.NewFollowup(t, now)
	if err != nil {
		return nil, err
	}
	sweeper := &app.Sweeper{Policy: f.Policy, Reminders: f.Reminders, Customers: f.Contacts, Staff: f.Staff,
		Counters: f.Counters, Queue: dispatch, Alerts: store.NewAlerts(t, now), Now: now,
		Tallies: store.NewTallies(t, "followup"), Zone: zone, Events: events.Nop{}}
	cal := &Calendar{Policy: f.Policy, Counters: f.Counters, Customers: f.Contacts, Planner: f.Planner(),
		Zone: zone, Now: now, Segments: segments}
	return &Sweep{Log: log, Sweeper: sweeper, Calendar: cal}, nil
}

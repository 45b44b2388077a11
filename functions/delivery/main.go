// Command delivery closes the messaging loop: SES v2 events (EventBridge), End User
// Messaging SMS delivery receipts and two-way SMS replies (SNS) record each message's
// outcome, close an address after a permanent bounce or a complaint, and apply STOP /
// TD / 退订 replies exactly like the public API's signed webhook (shared/followup/app.Replies).
package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/store"
)

func main() {
	b := boot.Init(context.Background())
	h, err := wire(b.Log, b.Table, events.Nop{}, time.Now, b.Zone)
	boot.Check(b.Log, "configuration", b.Env.Err(), err)
	lambda.Start(h.Handle)
}

// wire builds the handler over a table, publishing through pub.
func wire(log *slog.Logger, t *store.Table, pub events.Publisher, now func() time.Time, zone *time.Location) (*Delivery, error) {
	f, err := boot.NewFollowup(t, now)
	if err != nil {
		return nil, err
	}
	return &Delivery{Log: log,
		Deliveries: &app.Deliveries{Reminders: f.Reminders, Suppressions: f.Contacts, Tallies: store.NewTallies(t, "msg"), Events: pub, Zone: zone},
		Replies:    f.Replies(pub),
	}, nil
}

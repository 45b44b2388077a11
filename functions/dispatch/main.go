// Command dispatch renders and sends one message per reminder id on the dispatch queue
// (shared/followup/app.Dispatcher over the store's adapters, shared/links and
// shared/notify).
package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/events"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/message"
	"github.com/tierflow/tierflow/shared/notify"
	"github.com/tierflow/tierflow/shared/store"
)

func main() {
	b := boot.Init(context.Background())
	e := b.Env
	sender, serr := notify.FromEnv(b.Cfg, e)
	catalog, cerr := message.Default()
	d, err := wire(b.Log, b.Table, sender, catalog, e.Required("PUBLIC_BASE_URL"), time.Now)
	boot.Check(b.Log, "configuration", e.Err(), serr, cerr, err)
	lambda.Start(d.Handle)
}

// wire builds the handler over a table: the dispatcher over the store's follow-up
// adapters, sending through sender, with the links (unsubscribe, survey, consent) under
// baseURL. The links read the token of the customer the dispatcher's contact read loaded,
// so both share one store.Contacts.
func wire(log *slog.Logger, t *store.Table, sender app.Sender, catalog *message.Catalog, baseURL string, now func() time.Time) (*Dispatch, error) {
	f, err := boot.NewFollowup(t, now)
	if err != nil {
		return nil, err
	}
	d := f.Dispatcher(t, sender, catalog, baseURL)
	tallies, zone := f.MessageTallies(), followup.Location(f.Policy.DefaultTimeZone, "Asia/Shanghai")
	d.Observe = // Every recorded outcome is a metric: messages by disposition and reason code.
		func(ctx context.Context, r followup.Reminder, _ app.Result) {
			a := r.Account()
			logx.Count(ctx, "Messages", 1, "Disposition", string(a.Disposition), "Reason", string(a.Reason))
			// A message not sent is counted per reason and day for the message report; a
			// sent one is counted by the delivery events (outside the dispatch budget).
			switch {
			case r.Status == followup.StatusSent:
				publishMessage(ctx, log, app.MessageEvent(events.MessageSent, r))
			case r.Status == followup.StatusFailed:
				publishMessage(ctx, log, app.MessageEvent(events.MessageFailed, r))
			}
			if a.Disposition == followup.DispositionSuppressed {
				if err := tallies.Add(ctx, r.Store, now().In(zone).Format(time.DateOnly), map[string]int64{app.NotSentTally(a.Reason): 1}); err != nil {
					log.WarnContext(ctx, "counting a message not sent", "reminder", r.ID, "err", err.Error())
				}
			}
		}
	return &Dispatch{Log: log, Dispatcher: d}, nil
}

// publisher carries message.sent / message.failed out (EventBridge: no request units);
// events.Nop until shared/boot wires the bus.
var publisher events.Publisher = events.Nop{}

func publishMessage(ctx context.Context, log *slog.Logger, ev events.Event) {
	if err := publisher.Publish(ctx, ev); err != nil {
		log.WarnContext(ctx, "publishing a message event", "type", ev.Type, "err", err.Error())
	}
}

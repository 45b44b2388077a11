// Command dispatch renders and sends one message per reminder id on the dispatch queue
// (shared/followup/app.Dispatcher over the DynamoDB adapter and shared/notify).
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tierflow/tierflow/shared/boot"
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
	f := store.NewFollowup(b.Table, store.FollowupOptions{PublicBaseURL: e.Required("PUBLIC_BASE_URL"), Now: time.Now})
	sender, serr := notify.FromEnv(b.Cfg, e)
	policy, perr := followup.DefaultPolicy()
	catalog, cerr := message.Default()
	boot.Check(b.Log, "configuration", e.Err(), serr, perr, cerr)
	d := &Dispatch{Log: b.Log, Dispatcher: f.Dispatcher(policy, catalog, sender)}
	d.Dispatcher.Observe = func(ctx context.Context, r followup.Reminder, _ app.Result) {
		a := r.Account()
		logx.Count(ctx, "Messages", 1, "Disposition", string(a.Disposition), "Reason", string(a.Reason))
	}
	lambda.Start(d.Handle)
}

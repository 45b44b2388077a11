package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/logx"
)

// Delivery is the handler: every report of a message's fate (SES via EventBridge, SMS
// receipts via SNS) and every SMS reply (two-way SMS via SNS).
type Delivery struct {
	Log        *slog.Logger
	Deliveries *app.Deliveries
	Replies    *app.Replies
}

// Handle records what the payload reports. An error makes Lambda retry the asynchronous
// invocation and then hand it to the DLQ; everything it records is idempotent, so a
// retried payload changes nothing twice.
func (h *Delivery) Handle(ctx context.Context, raw json.RawMessage) error {
	reports, err := parse(raw)
	if err != nil {
		// A payload we cannot read will not read better on a retry: log it, keep it out of
		// the DLQ (nothing to redrive).
		h.Log.ErrorContext(ctx, "delivery event unreadable", "err", err.Error())
		return nil
	}
	for _, r := range reports {
		switch {
		case r.Reply != nil:
			res, err := h.Replies.SMS(ctx, r.Reply.OriginationNumber, r.Reply.MessageBody, r.Reply.InboundMessageID)
			if err != nil {
				return fmt.Errorf("sms reply: %w", err)
			}
			h.Log.InfoContext(ctx, "sms reply", "known", res.Known, "optedOut", res.OptedOut, "contactPlanned", res.ContactPlanned)
		case r.Delivery != nil:
			res, err := h.Deliveries.Record(ctx, *r.Delivery, r.Address)
			if err != nil {
				return err
			}
			h.Log.InfoContext(ctx, "delivery report", "event", r.Kind, "reminder", r.Delivery.ReminderID,
				"status", string(res.Reminder.Status), "changed", res.Changed, "closed", string(res.Closed))
			if res.Changed {
				a := res.Reminder.Account()
				logx.Count(ctx, "Messages", 1, "Disposition", string(a.Disposition), "Reason", string(a.Reason))
			}
		default:
			h.Log.InfoContext(ctx, "delivery event ignored", "event", r.Kind)
		}
	}
	return nil
}

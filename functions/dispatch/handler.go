package main

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/logx"
)

// Dispatch is the SQS handler: one reminder id per message, one send per reminder.
type Dispatch struct {
	Log        *slog.Logger
	Dispatcher *app.Dispatcher
}

// Handle processes a batch and reports only the messages SQS must deliver again.
//
//   - a result (sent, deferred, skipped, in flight, …) acks the message: the reminder's
//     state in DynamoDB carries whatever happens next, and the sweep re-queues it;
//   - an error (DynamoDB or the provider unreachable) fails the item: SQS redelivers it
//     after the visibility timeout and dead-letters it after maxReceiveCount;
//   - an undeliverable reminder (a template missing a variable) is recorded as failed
//     and its message is failed on every delivery, so it ends in the DLQ with the reason
//     in the log instead of going out empty.
func (d *Dispatch) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		id := strings.TrimSpace(m.Body)
		rctx := logx.WithRequestID(ctx, m.MessageId)
		res, err := d.Dispatcher.Handle(rctx, id)
		switch {
		case errors.Is(err, app.ErrUndeliverable):
			d.Log.ErrorContext(rctx, "reminder undeliverable", "reminder", id, "reason", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		case err != nil:
			d.Log.WarnContext(rctx, "dispatch failed, SQS retries", "reminder", id, "err", err.Error(), "receive", receiveCount(m))
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		if res == app.ResultDuplicate && receiveCount(m) > 1 && d.undeliverable(rctx, id) {
			// The first delivery failed it for a template error: keep failing the message
			// until SQS moves it to the DLQ.
			d.Log.ErrorContext(rctx, "reminder undeliverable", "reminder", id, "reason", "recorded failure: template", "receive", receiveCount(m))
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		d.Log.InfoContext(rctx, "dispatched", "reminder", id, "result", string(res))
	}
	return resp, nil
}

func (d *Dispatch) undeliverable(ctx context.Context, id string) bool {
	r, err := d.Dispatcher.Reminders.Get(ctx, id)
	return err == nil && r.Status == followup.StatusFailed && strings.HasPrefix(r.LastError, "render:")
}

func receiveCount(m events.SQSMessage) int {
	n, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	return n
}

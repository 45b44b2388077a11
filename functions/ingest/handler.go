package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// handler maps an SQS batch of queued transactions to tiering/app.Ingest: one policy
// read per batch, one Apply per message, and a batch item failure for each message that
// did not apply, so SQS redelivers those alone (and moves them to the DLQ in the end).
type handler struct {
	log    *slog.Logger
	ingest *app.Ingest
}

// Handle reports only the messages that failed.
func (h *handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	pol, err := h.ingest.Policy(ctx)
	if err != nil {
		// Without a policy nothing can be applied: every message goes back.
		h.log.ErrorContext(ctx, "ingest: read policy", "err", err)
		for _, m := range ev.Records {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
		return resp, nil
	}
	for _, m := range ev.Records {
		mctx := logx.WithRequestID(ctx, m.MessageId)
		logx.IngestLag(mctx, m.Attributes["SentTimestamp"]) // metric (docs/operations.md)
		var txn model.Txn
		err := json.Unmarshal([]byte(m.Body), &txn)
		if err != nil {
			// A body the API never produced cannot succeed on retry either; the redrive
			// policy moves it to the DLQ after maxReceiveCount, where it can be inspected.
			err = fmt.Errorf("decode message: %w", err)
		} else {
			_, err = h.ingest.Apply(mctx, pol, txn)
		}
		if err != nil {
			h.log.ErrorContext(mctx, "ingest: transaction failed", "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

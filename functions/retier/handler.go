package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// handler maps the retier function's two kinds of events to tiering/app.Nightly: the
// schedule's {"action":"nightly"} starts a run, and a batch of segment messages from the
// retier queue is worked through one by one, reporting only the failed ones.
type handler struct {
	log   *slog.Logger
	night *app.Nightly
}

// Handle is the Lambda entry point: a schedule event or a batch of segment messages.
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("retier: unreadable event: %w", err)
	}
	if probe.Records != nil {
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("retier: unreadable SQS event: %w", err)
		}
		return h.HandleSQS(ctx, ev)
	}
	var req app.StartRequest
	if err := json.Unmarshal(raw, &req); err != nil || req.Action != "nightly" {
		return nil, fmt.Errorf("retier: unknown event (want {\"action\":\"nightly\"} or SQS)")
	}
	run, err := h.night.Start(ctx, req)
	if err != nil {
		return nil, err
	}
	return map[string]string{"runId": run.ID, "status": run.Status}, nil
}

// HandleSQS works through segment messages, reporting only the failed ones.
func (h *handler) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		mctx := logx.WithRequestID(ctx, m.MessageId)
		var msg app.SegmentMsg
		err := json.Unmarshal([]byte(m.Body), &msg)
		if err == nil {
			err = h.night.Segment(mctx, msg)
		}
		if err != nil {
			h.log.ErrorContext(mctx, "retier: segment failed", "run", msg.RunID, "pass", msg.Pass, "segment", msg.Segment, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

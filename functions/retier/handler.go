package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// handler maps the retier function's two kinds of events to tiering/app.Nightly: the
// schedule's {"action":"nightly"} starts a run, and a batch of segment messages from the
// retier queue is worked through one by one, reporting only the failed ones.
type handler struct {
	log    *slog.Logger
	night  *app.Nightly
	layout layout // nil: the table's layout is not checked (tests of the run alone)
}

// layout is the store's item layout (store.Table): a table written before the current
// layout is migrated once, by {"action":"migrate"} (make deploy sends it) or by the first
// nightly run that finds it unmigrated.
type layout interface {
	Layout(ctx context.Context) (int, error)
	MigrateProfiles(ctx context.Context, now time.Time) (moved int, err error)
}

// migrate brings the table to the current layout unless it is there.
func (h *handler) migrate(ctx context.Context, current int) (moved int, err error) {
	if h.layout == nil {
		return 0, nil
	}
	v, err := h.layout.Layout(ctx)
	if err != nil || v >= current {
		return 0, err
	}
	moved, err = h.layout.MigrateProfiles(ctx, time.Now())
	h.log.InfoContext(ctx, "retier: table migrated", "from", v, "to", current, "profiles", moved, "err", err)
	return moved, err
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
	if err := json.Unmarshal(raw, &req); err != nil || (req.Action != "nightly" && req.Action != "migrate") {
		return nil, fmt.Errorf("retier: unknown event (want {\"action\":\"nightly\"}, {\"action\":\"migrate\"} or SQS)")
	}
	moved, err := h.migrate(ctx, store.LayoutVersion)
	if err != nil {
		return nil, fmt.Errorf("retier: migrate the table: %w", err)
	}
	if req.Action == "migrate" {
		return map[string]any{"layout": store.LayoutVersion, "profilesMoved": moved}, nil
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

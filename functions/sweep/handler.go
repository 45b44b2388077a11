package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/tierflow/tierflow/shared/followup/app"
)

// Request is the schedule's input: {"action":"sweep"}.
type Request struct {
	Action string `json:"action"`
}

// Response says what one sweep did (visible in a local invoke and the logs).
type Response struct {
	Enqueued    int `json:"enqueued"`
	Escalations int `json:"escalations"`
	Exhausted   int `json:"exhausted"`
}

// Sweep is the handler: due reminders to the dispatch queue, overdue tasks escalated.
type Sweep struct {
	Log     *slog.Logger
	Sweeper *app.Sweeper
}

// Handle runs one sweep.
func (s *Sweep) Handle(ctx context.Context, raw json.RawMessage) (Response, error) {
	var req Request
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &req); err != nil {
			return Response{}, fmt.Errorf("sweep: input is not JSON: %w", err)
		}
	}
	if req.Action != "" && req.Action != "sweep" {
		return Response{}, fmt.Errorf("sweep: unknown action %q (want \"sweep\")", req.Action)
	}
	res, err := s.Sweeper.Run(ctx)
	out := Response{Enqueued: res.Enqueued, Escalations: len(res.Escalations), Exhausted: res.Exhausted}
	if err != nil {
		s.Log.ErrorContext(ctx, "sweep failed", "err", err, "enqueued", out.Enqueued, "escalations", out.Escalations)
		return out, err
	}
	s.Log.InfoContext(ctx, "sweep", "enqueued", out.Enqueued, "escalations", out.Escalations, "exhausted", out.Exhausted)
	return out, nil
}

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
	// Calendar is how many calendar reminders the day's first sweep planned.
	Calendar int `json:"calendar"`
}

// Sweep is the handler: due reminders to the dispatch queue, overdue tasks escalated.
type Sweep struct {
	Log      *slog.Logger
	Sweeper  *app.Sweeper
	Calendar *Calendar // nil: calendar triggers are planned elsewhere
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
	var out Response
	if s.Calendar != nil {
		ran, n, err := s.Calendar.Run(ctx)
		out.Calendar = n
		if err != nil {
			// The due work still goes out; the next sweep retries the calendar.
			s.Log.ErrorContext(ctx, "calendar pass failed", "err", err, "planned", n)
		} else if ran {
			s.Log.InfoContext(ctx, "calendar pass", "planned", n)
		}
	}
	res, err := s.Sweeper.Run(ctx)
	out.Enqueued, out.Escalations, out.Exhausted = res.Enqueued, len(res.Escalations), res.Exhausted
	if err != nil {
		s.Log.ErrorContext(ctx, "sweep failed", "err", err, "enqueued", out.Enqueued, "escalations", out.Escalations)
		return out, err
	}
	s.Log.InfoContext(ctx, "sweep", "enqueued", out.Enqueued, "escalations", out.Escalations, "exhausted", out.Exhausted)
	return out, nil
}

package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/model"
)

// CustomerEvent is what staff record about a customer. ID is the caller's id for the
// event: posting the same id again plans nothing new.
type CustomerEvent struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"` // service_completed | complaint | contact
	At          *time.Time `json:"at,omitempty"`
	ProjectType string     `json:"projectType,omitempty"` // "aesthetic": 1/3/6-month check-ins
	EffectDays  int        `json:"effectDays,omitempty"`  // product effect duration: repurchase reminder before it wears off
}

var eventKinds = map[string]followup.TriggerKind{
	"service_completed": followup.TriggerServiceDone,
	"complaint":         followup.TriggerComplaint,
	"contact":           followup.TriggerCustomerContact,
}

// PlannedView is one reminder an event planned.
type PlannedView struct {
	ID         string         `json:"id"`
	Template   string         `json:"template"`
	Channel    model.Channel  `json:"channel"`
	Category   model.Category `json:"category"`
	DueAt      time.Time      `json:"dueAt"`
	DeadlineAt *time.Time     `json:"deadlineAt,omitempty"`
	Role       model.Role     `json:"role,omitempty"`
	Assignee   string         `json:"assignee,omitempty"`
}

type eventResult struct {
	Planned   []PlannedView `json:"planned"`
	Cancelled int           `json:"cancelled"`
}

// event answers POST /v1/customers/{id}/events: a completed service plans the 48 h call,
// the check-ins and the survey; a complaint the manager task within 24 h; a contact the
// 24 h reply and 72 h resolution tasks.
func (s *staffFollowup) event(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := s.principal(ctx, req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var ev CustomerEvent
	if err := httpx.DecodeJSON(req, &ev, 4<<10); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var bad []httpx.FieldError
	kind, ok := eventKinds[ev.Type]
	if !ok {
		bad = append(bad, httpx.FieldError{Field: "type", Reason: "must be service_completed, complaint or contact"})
	}
	if ev.ID == "" || len(ev.ID) > 100 {
		bad = append(bad, httpx.FieldError{Field: "id", Reason: "required (1–100 characters): your id for this event, so a retry plans nothing twice"})
	}
	if len(ev.ProjectType) > 64 {
		bad = append(bad, httpx.FieldError{Field: "projectType", Reason: "at most 64 characters"})
	}
	if ev.EffectDays < 0 || ev.EffectDays > 3650 || (ev.EffectDays > 0 && kind != followup.TriggerServiceDone) {
		bad = append(bad, httpx.FieldError{Field: "effectDays", Reason: "must be 1–3650 days, on a service_completed event"})
	}
	now := s.now()
	at := now
	if ev.At != nil {
		if ev.At.After(now.Add(5*time.Minute)) || ev.At.Before(now.AddDate(0, 0, -30)) {
			bad = append(bad, httpx.FieldError{Field: "at", Reason: "must be within the last 30 days and not in the future"})
		}
		at = *ev.At
	}
	if len(bad) > 0 {
		return events.APIGatewayV2HTTPResponse{}, httpx.Invalid(bad...)
	}
	cu, err := s.acc.Customer(ctx, p, req.PathParameters["id"], access.RecordEvent)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	triggers := []followup.Trigger{{Kind: kind, Ref: "event:" + ev.ID, At: at, ProjectType: ev.ProjectType}}
	if ev.EffectDays > 0 {
		triggers = append(triggers, followup.Trigger{Kind: followup.TriggerEffectEnding, Ref: "effect:" + ev.ID, At: at.AddDate(0, 0, ev.EffectDays)})
	}
	var out eventResult
	res, err := s.desk.Plan(ctx, cu, triggers...)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	out.Cancelled = res.Cancelled
	for _, r := range res.Created {
		pv := PlannedView{ID: r.ID, Template: r.Template, Channel: r.Channel, Category: r.Category, DueAt: r.DueAt}
		if r.Task != nil {
			d := r.Task.DeadlineAt
			pv.DeadlineAt, pv.Role, pv.Assignee = &d, r.Task.Role, r.Task.Assignee
		}
		out.Planned = append(out.Planned, pv)
	}
	if out.Planned == nil {
		out.Planned = []PlannedView{}
	}
	s.log.InfoContext(logx.WithRequestID(ctx, httpx.RequestID(req)), "customer event", "type", ev.Type, "planned", len(out.Planned))
	return httpx.JSON(201, out), nil
}

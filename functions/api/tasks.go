package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/boot"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/followup"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
)

// staffFollowup is what the staff follow-up routes (tasks, customer events) share.
type staffFollowup struct {
	log     *slog.Logger
	table   *store.Table
	f       *store.Followup
	tasks   *fapp.Tasks
	planner *fapp.Planner
	now     func() time.Time
	stores  []string
}

func newStaffFollowup(a *app, e *env.Reader) *staffFollowup {
	policy, err := followup.DefaultPolicy()
	boot.Check(a.log, "follow-up policy", err)
	f := store.NewFollowup(a.table, store.FollowupOptions{Now: a.now})
	return &staffFollowup{log: a.log, table: a.table, f: f, tasks: f.Tasks(policy), planner: f.Planner(policy), now: a.now, stores: e.List("STORES")}
}

func init() {
	areas = append(areas, func(a *app, r *httpx.Router, e *env.Reader) {
		s := newStaffFollowup(a, e)
		r.Handle("GET /v1/tasks", s.list)
		r.Handle("POST /v1/tasks/{id}/complete", s.complete)
		r.Handle("POST /v1/tasks/{id}/reassign", s.reassign)
	})
}

// principal reads the caller and registers them in the staff directory of their stores,
// so round-robin assignment reaches the people who use tierflow.
func (s *staffFollowup) principal(ctx context.Context, req events.APIGatewayV2HTTPRequest) (auth.Principal, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return p, err
	}
	if !p.SeesAllStores() {
		for _, st := range p.Stores {
			if err := s.f.RegisterStaff(ctx, st, p.Role, p.Sub); err != nil {
				s.log.WarnContext(ctx, "staff directory not updated", "err", err.Error())
			}
		}
	}
	return p, nil
}

// TaskView is a task as staff see it: no contact details (they open the customer for
// those, which is audited).
type TaskView struct {
	ID          string           `json:"id"`
	CustomerID  string           `json:"customerId"`
	Store       string           `json:"store"`
	Template    string           `json:"template"`
	Trigger     string           `json:"trigger"`
	Category    model.Category   `json:"category"`
	Priority    int              `json:"priority"`
	Status      followup.Status  `json:"status"`
	Role        model.Role       `json:"role"`
	Assignee    string           `json:"assignee,omitempty"`
	DueAt       time.Time        `json:"dueAt"`
	DeadlineAt  time.Time        `json:"deadlineAt"`
	Overdue     bool             `json:"overdue"`
	Escalated   bool             `json:"escalated,omitempty"`
	Level       int              `json:"level,omitempty"`
	CallAttempt int              `json:"callAttempt,omitempty"`
	Outcome     followup.Outcome `json:"outcome,omitempty"`
	CompletedBy string           `json:"completedBy,omitempty"`
}

func taskView(r followup.Reminder, now time.Time) TaskView {
	v := TaskView{ID: r.ID, CustomerID: r.CustomerID, Store: r.Store, Template: r.Template, Trigger: string(r.Trigger),
		Category: r.Category, Priority: r.Priority, Status: r.Status, DueAt: r.DueAt}
	if t := r.Task; t != nil {
		v.Role, v.Assignee, v.DeadlineAt, v.Escalated, v.Level, v.CallAttempt = t.Role, t.Assignee, t.DeadlineAt, t.Escalated, t.Level, t.CallAttempt
		v.Outcome, v.CompletedBy = t.Outcome, t.CompletedBy
		v.Overdue = r.Status == followup.StatusOpen && !now.Before(t.DeadlineAt)
	}
	return v
}

type taskPage struct {
	Items      []TaskView `json:"items"`
	NextCursor string     `json:"nextCursor,omitempty"`
}

// list answers GET /v1/tasks?view=mine|store|overdue[&store=][&limit=][&cursor=].
func (s *staffFollowup) list(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := s.principal(ctx, req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	q := req.QueryStringParameters
	for k := range q {
		if !slices.Contains([]string{"view", "store", "limit", "cursor"}, k) {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest(k, "is not a known parameter")
		}
	}
	tv := store.TaskView{Cursor: q["cursor"], Status: followup.StatusOpen}
	if l := q["limit"]; l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("limit", "must be a number from 1 to 200")
		}
		tv.Limit = n
	}
	switch view := q["view"]; view {
	case "", "mine":
		tv.Assignee = p.Sub
	case "store", "overdue":
		st, err := storeParam(p, q["store"], s.stores)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		tv.Store = st
		if view == "overdue" {
			tv.Before = s.now()
		}
	default:
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("view", "must be mine, store or overdue")
	}
	items, next, err := s.f.ListTasks(ctx, tv)
	if errors.Is(err, store.ErrBadCursor) {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("cursor", "is not a cursor this API returned")
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	now := s.now()
	page := taskPage{Items: make([]TaskView, 0, len(items)), NextCursor: next}
	for _, r := range items {
		page.Items = append(page.Items, taskView(r, now))
	}
	return httpx.JSON(200, page), nil
}

// loadTask reads a task the caller may act on; another store's task is the same 404.
func (s *staffFollowup) loadTask(ctx context.Context, p auth.Principal, id string) (followup.Reminder, error) {
	r, err := s.f.Get(ctx, id)
	if errors.Is(err, fapp.ErrNotFound) || (err == nil && (!r.IsTask() || !p.CanSeeStore(r.Store))) {
		return r, httpx.NotFound("Task")
	}
	return r, err
}

func taskError(err error) error {
	switch {
	case errors.Is(err, followup.ErrInvalidOutcome):
		return httpx.BadRequest("outcome", "must be one of reached, no_answer, wrong_number, booked, complaint, declined")
	case errors.Is(err, followup.ErrTransition), errors.Is(err, fapp.ErrConflict):
		return httpx.Conflict("The task is no longer open (completed or changed by someone else); reload it.")
	}
	return err
}

type completeBody struct {
	Outcome followup.Outcome `json:"outcome"`
}

type completeResult struct {
	Task     TaskView  `json:"task"`
	Retry    *TaskView `json:"retry,omitempty"`
	Followed int       `json:"followUps"`
}

// complete answers POST /v1/tasks/{id}/complete {"outcome": "..."}.
func (s *staffFollowup) complete(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := s.principal(ctx, req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var b completeBody
	if err := httpx.DecodeJSON(req, &b, 4<<10); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if !b.Outcome.Valid() {
		return events.APIGatewayV2HTTPResponse{}, taskError(followup.ErrInvalidOutcome)
	}
	id := req.PathParameters["id"]
	if _, err := s.loadTask(ctx, p, id); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	res, err := s.tasks.Complete(ctx, id, p.Sub, b.Outcome)
	if err != nil && res.Task.ID == "" {
		return events.APIGatewayV2HTTPResponse{}, taskError(err)
	}
	if err != nil {
		// The outcome is stored; what it set in motion failed and is logged for a retry.
		s.log.ErrorContext(logx.WithRequestID(ctx, httpx.RequestID(req)), "task outcome follow-up failed", "task", id, "err", err.Error())
	}
	now := s.now()
	out := completeResult{Task: taskView(res.Task, now), Followed: len(res.Followed.Created)}
	if res.Retry != nil {
		rv := taskView(*res.Retry, now)
		out.Retry = &rv
	}
	s.log.InfoContext(logx.WithRequestID(ctx, httpx.RequestID(req)), "task completed", "task", id, "outcome", string(b.Outcome))
	return httpx.JSON(200, out), nil
}

type reassignBody struct {
	Assignee string `json:"assignee"`
}

// reassign answers POST /v1/tasks/{id}/reassign {"assignee": "<staff sub>"}. Agents may
// take a task themselves; managers and admins hand tasks to any staff member of the store.
func (s *staffFollowup) reassign(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := s.principal(ctx, req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var b reassignBody
	if err := httpx.DecodeJSON(req, &b, 4<<10); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if b.Assignee == "" {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("assignee", "required")
	}
	if b.Assignee != p.Sub {
		if err := p.Require(model.RoleClinician, model.RoleAdmin); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
	}
	id := req.PathParameters["id"]
	r, err := s.loadTask(ctx, p, id)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	known := b.Assignee == p.Sub
	for _, role := range []model.Role{model.RoleAgent, model.RoleClinician, model.RoleAdmin} {
		if known {
			break
		}
		m, err := s.f.Members(ctx, r.Store, role)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		known = slices.Contains(m, b.Assignee)
	}
	if !known {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("assignee", "is not a staff member of the task's store")
	}
	n, err := s.tasks.Reassign(ctx, id, b.Assignee)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, taskError(err)
	}
	return httpx.JSON(200, taskView(n, s.now())), nil
}

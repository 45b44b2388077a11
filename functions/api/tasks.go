package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/followup"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
)

// followupDesk is what the staff follow-up routes do with what acc resolved
// (store.Staff): tasks and the lists they are on, and plans for a customer.
type followupDesk interface {
	Tasks(ctx context.Context, ts access.TaskScope, f store.TaskFilter) ([]followup.Reminder, string, error)
	CompleteTask(ctx context.Context, tk access.Task, o followup.Outcome) (fapp.CompleteResult, error)
	ReassignTask(ctx context.Context, tk access.Task, assignee string) (followup.Reminder, bool, error)
	RegisterCaller(ctx context.Context, p auth.Principal) error
	Plan(ctx context.Context, c access.Customer, ts ...followup.Trigger) (fapp.PlanResult, error)
	TaskCustomers(ctx context.Context, ts access.TaskScope, role model.Role, ids []string) (map[string]store.TaskCustomer, error)
}

// staffFollowup is what the staff follow-up routes (tasks, customer events) share.
type staffFollowup struct {
	log    *slog.Logger
	acc    *access.Layer
	desk   followupDesk
	now    func() time.Time
	stores []string
	// directory lists a store's staff (GET /v1/staff).
	directory staffLister
}

func newStaffFollowup(a *app, e *env.Reader) *staffFollowup {
	return &staffFollowup{log: a.log, acc: a.acc, desk: a.desk, now: a.now, stores: e.List("STORES"), directory: a.directory}
}

// principal reads the caller and registers them in the staff directory of their stores,
// so round-robin assignment reaches the people who use tierflow.
func (s *staffFollowup) principal(ctx context.Context, req events.APIGatewayV2HTTPRequest) (auth.Principal, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return p, err
	}
	if err := s.desk.RegisterCaller(ctx, p); err != nil {
		s.log.WarnContext(ctx, "staff directory not updated", "err", err.Error())
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
	// Customer is the card's customer, masked by the caller's role like the customer
	// list; absent when the caller no longer covers the customer's store.
	Customer *store.TaskCustomer `json:"customer,omitempty"`
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
	f := store.TaskFilter{Cursor: q["cursor"]}
	if l := q["limit"]; l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("limit", "must be a number from 1 to 200")
		}
		f.Limit = n
	}
	view := q["view"]
	switch view {
	case "", "mine", "store", "overdue":
	default:
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("view", "must be mine, store or overdue")
	}
	ts, err := s.acc.TaskList(p, view == "" || view == "mine", q["store"], s.stores)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if view == "overdue" {
		f.Before = s.now()
	}
	items, next, err := s.desk.Tasks(ctx, ts, f)
	if errors.Is(err, store.ErrBadCursor) {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("cursor", "is not a cursor this API returned")
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	now := s.now()
	ids := make([]string, 0, len(items))
	for _, r := range items {
		ids = append(ids, r.CustomerID)
	}
	custs, err := s.desk.TaskCustomers(ctx, ts, p.Role, ids)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	page := taskPage{Items: make([]TaskView, 0, len(items)), NextCursor: next}
	for _, r := range items {
		v := taskView(r, now)
		if c, ok := custs[r.CustomerID]; ok {
			v.Customer = &c
		}
		page.Items = append(page.Items, v)
	}
	return httpx.JSON(200, page), nil
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
	tk, err := s.acc.Task(ctx, p, req.PathParameters["id"], access.WorkTasks)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	res, err := s.desk.CompleteTask(ctx, tk, b.Outcome)
	if err != nil && res.Task.ID == "" {
		return events.APIGatewayV2HTTPResponse{}, taskError(err)
	}
	if err != nil {
		// The outcome is stored; what it set in motion failed and is logged for a retry.
		s.log.ErrorContext(logx.WithRequestID(ctx, httpx.RequestID(req)), "task outcome follow-up failed", "task", tk.ID(), "err", err.Error())
	}
	now := s.now()
	out := completeResult{Task: taskView(res.Task, now), Followed: len(res.Followed.Created)}
	if res.Retry != nil {
		rv := taskView(*res.Retry, now)
		out.Retry = &rv
	}
	s.log.InfoContext(logx.WithRequestID(ctx, httpx.RequestID(req)), "task completed", "task", tk.ID(), "outcome", string(b.Outcome))
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
	if b.Assignee == "" || len(b.Assignee) > 256 {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("assignee", "required, at most 256 characters")
	}
	act := access.WorkTasks
	if b.Assignee != p.Sub {
		act = access.AssignTasks
	}
	tk, err := s.acc.Task(ctx, p, req.PathParameters["id"], act)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	n, known, err := s.desk.ReassignTask(ctx, tk, b.Assignee)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, taskError(err)
	}
	if !known {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("assignee", "is not a staff member of the task's store")
	}
	return httpx.JSON(200, taskView(n, s.now())), nil
}

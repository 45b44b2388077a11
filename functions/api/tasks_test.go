package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/auth"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

type taskRig struct {
	*custRig
	mu  sync.Mutex
	now time.Time
}

func newTaskRig(t *testing.T) *taskRig {
	t.Helper()
	g := &taskRig{custRig: newCustRig(t), now: time.Date(2025, 3, 5, 2, 0, 0, 0, time.UTC)} // 10:00 Shanghai
	a := testAppOn(t, g.tbl, func() time.Time { g.mu.Lock(); defer g.mu.Unlock(); return g.now })
	a.log = logx.New(&bytes.Buffer{}, logx.Options{})
	g.r = httpx.NewRouter()
	g.r.Log = a.log
	routes(g.r, a, env.FromMap(map[string]string{"STORES": "sh-01,bj-01"}))
	return g
}

// as calls the API as staff member sub.
func (g *taskRig) as(sub, role, stores, method, path, body string, query map[string]string) events.APIGatewayV2HTTPResponse {
	g.t.Helper()
	req := events.APIGatewayV2HTTPRequest{RawPath: path, Body: body, QueryStringParameters: query, Headers: map[string]string{"content-type": "application/json"}}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.RequestID = "req-" + storetest.Suffix()
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": sub, auth.ClaimRole: role, auth.ClaimStores: stores}}}
	resp, err := g.r.Serve(context.Background(), req)
	if err != nil {
		g.t.Fatal(err)
	}
	return resp
}

func decode[T any](t *testing.T, resp events.APIGatewayV2HTTPResponse) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("%d %s: %v", resp.StatusCode, resp.Body, err)
	}
	return v
}

// Recording a completed service plans the 48 h call for an agent of the store, the
// 7/30/90-day check-ins and the 7-day survey; the agent sees the call in "mine",
// completes it with "no answer", and gets the retry call.
func TestServiceCompletedPlansCallAndCheckinsAndTheAgentWorksTheTask(t *testing.T) {
	g := newTaskRig(t)
	agent := "agent-" + storetest.Suffix()
	// Every agent who uses the API joins the round-robin; this test's store has many
	// agents over time, so make this one the only agent of a fresh store.
	st := "st-" + storetest.Suffix()
	g.as(agent, "agent", st, "GET", "/v1/tasks", "", nil)
	p := g.newCustomer("He Ping", mobile(), "heping-"+storetest.Suffix()+"@example.com")
	if _, err := storetest.Emulators(t).DynamoDBClient().UpdateItem(context.Background(), storeUpdate(g.tbl.Name, p.ID, st)); err != nil {
		t.Fatal(err)
	}

	body := `{"id":"svc-` + storetest.Suffix() + `","type":"service_completed"}`
	resp := g.as(agent, "agent", st, "POST", "/v1/customers/"+p.ID+"/events", body, nil)
	res := decode[eventResult](t, resp)
	if resp.StatusCode != 201 {
		t.Fatalf("event: %d %s", resp.StatusCode, resp.Body)
	}
	at := map[string]time.Duration{}
	var callID string
	for _, r := range res.Planned {
		at[r.Template] = r.DueAt.Sub(g.now)
		if r.Template == "task.post_service_call" {
			callID = r.ID
			if r.DeadlineAt == nil || r.DeadlineAt.Sub(g.now) > 48*time.Hour || r.Assignee != agent {
				t.Fatalf("48 h call: deadline %v assignee %q", r.DeadlineAt, r.Assignee)
			}
		}
	}
	// The 30-day check-in would fall on 2025-04-04, the Qingming holiday: service messages
	// wait for the next working day, Monday 2025-04-07 09:00 (docs/followup.md).
	for tpl, want := range map[string]time.Duration{"checkin.week": 7 * 24 * time.Hour, "checkin.month": 33*24*time.Hour - time.Hour, "checkin.quarter": 90 * 24 * time.Hour, "survey.csat": 7*24*time.Hour + time.Hour} {
		if got, ok := at[tpl]; !ok || got != want {
			t.Fatalf("%s due in %v (planned: %v), want %v", tpl, got, ok, want)
		}
	}
	if callID == "" {
		t.Fatalf("no 48 h call planned: %s", resp.Body)
	}
	if again := decode[eventResult](t, g.as(agent, "agent", st, "POST", "/v1/customers/"+p.ID+"/events", body, nil)); len(again.Planned) != 0 {
		t.Fatalf("the same event again planned %d more", len(again.Planned))
	}

	mine := decode[taskPage](t, g.as(agent, "agent", st, "GET", "/v1/tasks", "", map[string]string{"view": "mine"}))
	if len(mine.Items) != 1 || mine.Items[0].ID != callID || mine.Items[0].CustomerID != p.ID {
		t.Fatalf("mine: %+v", mine.Items)
	}
	if resp := g.as(agent, "agent", st, "POST", "/v1/tasks/"+callID+"/complete", `{"outcome":"maybe"}`, nil); resp.StatusCode != 400 || !strings.Contains(resp.Body, `"outcome"`) {
		t.Fatalf("bad outcome: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := g.as("other", "agent", "bj-01", "POST", "/v1/tasks/"+callID+"/complete", `{"outcome":"reached"}`, nil); resp.StatusCode != 404 {
		t.Fatalf("another store's agent: %d, want 404", resp.StatusCode)
	}
	done := decode[completeResult](t, g.as(agent, "agent", st, "POST", "/v1/tasks/"+callID+"/complete", `{"outcome":"no_answer"}`, nil))
	if done.Task.Status != "done" || done.Retry == nil || done.Retry.CallAttempt != 2 {
		t.Fatalf("no answer: %+v", done)
	}
	if resp := g.as(agent, "agent", st, "POST", "/v1/tasks/"+callID+"/complete", `{"outcome":"reached"}`, nil); resp.StatusCode != 409 {
		t.Fatalf("completing twice: %d, want 409", resp.StatusCode)
	}
	// Three days later the retry is overdue on the store's list.
	g.mu.Lock()
	g.now = g.now.Add(72 * time.Hour)
	g.mu.Unlock()
	over := decode[taskPage](t, g.as("mgr-"+agent, "clinician", st, "GET", "/v1/tasks", "", map[string]string{"view": "overdue"}))
	if len(over.Items) != 1 || over.Items[0].ID != done.Retry.ID || !over.Items[0].Overdue {
		t.Fatalf("overdue: %+v", over.Items)
	}
	// The manager hands it to themselves... and an agent may not hand it to someone else.
	if resp := g.as(agent, "agent", st, "POST", "/v1/tasks/"+done.Retry.ID+"/reassign", `{"assignee":"mgr-`+agent+`"}`, nil); resp.StatusCode != 403 {
		t.Fatalf("agent reassigning to another: %d", resp.StatusCode)
	}
	if resp := g.as("mgr-"+agent, "clinician", st, "POST", "/v1/tasks/"+done.Retry.ID+"/reassign", `{"assignee":"nobody"}`, nil); resp.StatusCode != 400 || !strings.Contains(resp.Body, `"assignee"`) {
		t.Fatalf("unknown assignee: %d %s", resp.StatusCode, resp.Body)
	}
	moved := decode[TaskView](t, g.as("mgr-"+agent, "clinician", st, "POST", "/v1/tasks/"+done.Retry.ID+"/reassign", `{"assignee":"mgr-`+agent+`"}`, nil))
	if moved.Assignee != "mgr-"+agent {
		t.Fatalf("reassigned: %+v", moved)
	}
}

func TestEventBadInputNamesTheField(t *testing.T) {
	g := newTaskRig(t)
	p := g.newCustomer("Ma Li", mobile(), "")
	resp := g.as("a1", "agent", "sh-01", "POST", "/v1/customers/"+p.ID+"/events", `{"type":"visit","effectDays":-1}`, nil)
	if resp.StatusCode != 400 || !strings.Contains(resp.Body, `"type"`) || !strings.Contains(resp.Body, `"id"`) || !strings.Contains(resp.Body, `"effectDays"`) {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	if resp := g.as("a1", "agent", "bj-01", "POST", "/v1/customers/"+p.ID+"/events", `{"id":"x","type":"contact"}`, nil); resp.StatusCode != 404 {
		t.Fatalf("another store's customer: %d", resp.StatusCode)
	}
}

// storeUpdate moves a test customer to a store of its own (leads land in the default store).
func storeUpdate(table, id, st string) *dynamodb.UpdateItemInput {
	k := store.CustomerKey(id)
	return &dynamodb.UpdateItemInput{TableName: aws.String(table),
		Key:                       map[string]ddbtypes.AttributeValue{"PK": &ddbtypes.AttributeValueMemberS{Value: k.PK}, "SK": &ddbtypes.AttributeValueMemberS{Value: k.SK}},
		UpdateExpression:          aws.String("SET #s = :s"),
		ExpressionAttributeNames:  map[string]string{"#s": "store"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":s": &ddbtypes.AttributeValueMemberS{Value: st}}}
}

package main

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// The timeline's wire format is what the staff app reads (functions/web/ui pages/customer.js):
// each entry's kind, its time to the millisecond, and the item with the names it has always
// carried. A touch, a transaction and a tier change as they are stored, and the task and
// messages a completed service plans, come back in time order with exactly these fields.
func TestTheTimelineShowsEveryKindWithItsFields(t *testing.T) {
	ctx := context.Background()
	a := testApp(t)
	tbl := tableOf(t)
	l, err := customer.Rules{DefaultRegion: "CN", DefaultStore: "sh-01"}.Validate(
		customer.LeadForm{Name: "Timeline Person", Phone: mobile(), Interest: "whitening"},
		customer.Submission{At: testNow.Add(-40 * 24 * time.Hour), IP: "203.0.113.5", Channel: "form"})
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := tbl.ResolveOrCreate(ctx, l, customer.DefaultGradePolicy().Grade(l), l.Submission.At)
	if err != nil {
		t.Fatal(err)
	}
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	n := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberN{Value: v} }
	pk := store.CustomerPK(p.ID)
	// A transaction and a tier change exactly as ingest and the nightly run store them.
	for _, item := range []map[string]ddbtypes.AttributeValue{
		{"PK": s(pk), "SK": s("TXN#2025-02-01T10:00:00.000Z#pos#t-1"), "kind": s("txn"), "source": s("pos"),
			"externalId": s("t-1"), "customerId": s(p.ID), "store": s("sh-01"), "at": s("2025-02-01T10:00:00Z"),
			"amount": n("12345"), "currency": s("CNY"), "items": &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{
				&ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"sku": s("F-1"), "name": s("Filler"), "qty": n("1"), "unitPrice": n("12345")}}}}},
		{"PK": s(pk), "SK": s("TIER#2025-02-02T02:00:00.000Z"), "at": s("2025-02-02T02:00:00Z"), "from": s("C"), "to": s("B"),
			"stage": s("active"), "reason": s("B: R=4 F=2 M=3, policy v1"), "policyVersion": n("1"), "runId": s("run-1")},
	} {
		if _, err := storetest.Emulators(t).DynamoDBClient().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tbl.Name), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	if r := serve(t, a, nil, "POST /v1/customers/{id}/events", "/v1/customers/"+p.ID+"/events",
		`{"id":"visit-1","type":"service_completed"}`, adminClaims); r.StatusCode != 201 {
		t.Fatalf("event: %d %s", r.StatusCode, r.Body)
	}

	resp := serve(t, a, nil, "GET /v1/customers/{id}/timeline", "/v1/customers/"+p.ID+"/timeline", "", adminClaims)
	if resp.StatusCode != 200 {
		t.Fatalf("timeline: %d %s", resp.StatusCode, resp.Body)
	}
	var tl struct {
		CustomerID string `json:"customerId"`
		Entries    []struct {
			Kind string         `json:"kind"`
			At   string         `json:"at"`
			Item map[string]any `json:"item"`
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &tl); err != nil {
		t.Fatal(err)
	}
	if tl.CustomerID != p.ID {
		t.Fatalf("customerId %q, want %q", tl.CustomerID, p.ID)
	}
	if !sort.SliceIsSorted(tl.Entries, func(i, j int) bool { return tl.Entries[i].At < tl.Entries[j].At }) {
		t.Errorf("entries are not in time order: %s", resp.Body)
	}
	byKind := map[string]int{}
	reminderFields := []string{"category", "channel", "disposition", "dueAt", "id", "rule", "sentAt", "status", "task", "template", "trigger"}
	for _, e := range tl.Entries {
		byKind[e.Kind]++
		keys := make([]string, 0, len(e.Item))
		for k := range e.Item {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		switch e.Kind {
		case "touch":
			touch, _ := e.Item["touch"].(map[string]any)
			if want := []string{"created", "customerId", "touch", "touchId", "type"}; !slices.Equal(keys, want) ||
				e.Item["type"] != "touch" || e.Item["created"] != true || e.Item["customerId"] != p.ID ||
				touch["channel"] != "form" || touch["interest"] != "whitening" || e.At != l.Submission.At.UTC().Format("2006-01-02T15:04:05.000Z") {
				t.Errorf("touch entry %s: %v, want fields %v", e.At, e.Item, want)
			}
		case "transaction":
			want := map[string]any{"kind": "txn", "source": "pos", "externalId": "t-1", "customerId": p.ID, "store": "sh-01",
				"at": "2025-02-01T10:00:00Z", "amount": 12345.0, "currency": "CNY",
				"items": []any{map[string]any{"sku": "F-1", "name": "Filler", "qty": 1.0, "unitPrice": 12345.0}}}
			if !reflect.DeepEqual(e.Item, want) || e.At != "2025-02-01T10:00:00.000Z" {
				t.Errorf("transaction entry %s: %v, want %v", e.At, e.Item, want)
			}
		case "tier_change":
			want := map[string]any{"at": "2025-02-02T02:00:00Z", "from": "C", "to": "B", "stage": "active",
				"reason": "B: R=4 F=2 M=3, policy v1", "policyVersion": 1.0, "runId": "run-1"}
			if !reflect.DeepEqual(e.Item, want) || e.At != "2025-02-02T02:00:00.000Z" {
				t.Errorf("tier change entry %s: %v, want %v", e.At, e.Item, want)
			}
		case "task", "message":
			if !slices.Equal(keys, reminderFields) || e.Item["status"] != "pending" && e.Item["status"] != "open" {
				t.Errorf("%s entry: fields %v (status %v), want %v", e.Kind, keys, e.Item["status"], reminderFields)
			}
			if task, isTask := e.Item["task"].(map[string]any); (e.Kind == "task") != isTask || isTask && task["deadlineAt"] == nil {
				t.Errorf("%s entry carries task %v", e.Kind, e.Item["task"])
			}
			if _, err := time.Parse("2006-01-02T15:04:05.000Z", e.At); err != nil {
				t.Errorf("%s entry at %q: %v", e.Kind, e.At, err)
			}
		default:
			t.Errorf("unknown kind %q", e.Kind)
		}
	}
	if byKind["touch"] != 1 || byKind["transaction"] != 1 || byKind["tier_change"] != 1 || byKind["task"] < 1 || byKind["message"] < 1 {
		t.Fatalf("kinds %v, want one touch, transaction and tier change, and the service's tasks and messages", byKind)
	}
}

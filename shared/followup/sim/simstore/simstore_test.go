package simstore

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/followup/sim"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// reminderIDs scans the table for every reminder's own item (PK REM#<id>, SK REM).
func reminderIDs(ctx context.Context, db *dynamodb.Client, table string) ([]string, error) {
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{
		TableName: aws.String(table), ProjectionExpression: aws.String("PK"),
		FilterExpression:          aws.String("SK = :rem"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":rem": &types.AttributeValueMemberS{Value: "REM"}},
	})
	var ids []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan reminders: %w", err)
		}
		for _, it := range page.Items {
			if pk, ok := it["PK"].(*types.AttributeValueMemberS); ok {
				ids = append(ids, strings.TrimPrefix(pk.Value, "REM#"))
			}
		}
	}
	return ids, nil
}

// TestTheSimulationOnDynamoDBLocal: 500 customers for 30 days, their reminders, cap
// counters and staff directory in DynamoDB Local through the adapters the functions use,
// four dispatchers handling each sweep's queue at once, redelivered messages racing each
// other: no customer gets a message twice, none in quiet hours or on a holiday, no cap is
// exceeded, and every message that was not sent says why with a documented code.
func TestTheSimulationOnDynamoDBLocal(t *testing.T) {
	ctx := context.Background()
	tbl := storetest.Table(t)
	db := storetest.Emulators(t).DynamoDBClient()

	cfg := sim.DefaultConfig()
	cfg.Customers, cfg.Days, cfg.Dispatchers, cfg.Step = 250, 30, 4, 15*time.Minute
	cfg.Redelivery, cfg.LateRedelivery = 0.10, 0.03 // more races than the in-memory run
	var final []followup.Reminder
	rems := store.NewReminders(tbl)
	cfg.Ports = &sim.Ports{
		Reminders: rems, Counters: store.NewCounters(tbl), Staff: store.NewStaffDirectory(tbl, nil),
		All: func(ctx context.Context) ([]followup.Reminder, error) {
			ids, err := reminderIDs(ctx, db, tbl.Name)
			if err != nil {
				return nil, err
			}
			final, err = rems.ByID(ctx, ids)
			return final, err
		},
	}
	before := tbl.Units.Snapshot()
	rep, err := sim.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := tbl.Units.Snapshot().Sub(before)
	raced := rep.Results[app.ResultInFlight] + rep.Results[app.ResultDuplicate]
	t.Logf("%d customers × %d days (%s steps), %d dispatchers: %d reminders, %d messages sent, %d redeliveries (%d found the message claimed, %d already done), %d faults injected, %d tasks (%d escalated), %d DynamoDB calls, wall %s",
		rep.Customers, rep.Days, cfg.Step, cfg.Dispatchers, rep.ReminderCount, rep.Sent, rep.Redeliveries, rep.Results[app.ResultInFlight], rep.Results[app.ResultDuplicate],
		rep.FaultsInjected, rep.TasksCreated, rep.TasksEscalated, u.Calls, rep.Wall.Round(time.Second))

	if rep.Sent == 0 || rep.Redeliveries == 0 || rep.FaultsInjected == 0 || len(final) == 0 {
		t.Fatalf("the run exercised nothing: sent %d, redeliveries %d, faults %d, reminders %d", rep.Sent, rep.Redeliveries, rep.FaultsInjected, len(final))
	}
	if raced == 0 {
		t.Errorf("no dispatch met a message claimed or finished by another: the redeliveries raced nothing (results %v)", rep.Results)
	}
	if rep.Duplicates != 0 {
		t.Errorf("duplicates = %d, want 0", rep.Duplicates)
	}
	for _, b := range rep.TimingBreaches() {
		t.Error(b)
	}
	for name, c := range rep.Classes {
		if c.Duplicates != 0 || c.Losses != 0 || c.Misrecorded != 0 {
			t.Errorf("%s: duplicates %d, losses %d, misrecorded %d; want 0 (the provider answers lookups)", name, c.Duplicates, c.Losses, c.Misrecorded)
		}
	}
	unsent, bad := unexplained(final)
	for _, b := range bad {
		t.Error(b)
	}
	if unsent == 0 {
		t.Errorf("no reminder ended unsent: the reason check checked nothing")
	}
}

// unexplained counts the messages that ended unsent and lists those (and those deferred
// or retrying) without a documented reason code (followup.Reasons).
func unexplained(rems []followup.Reminder) (unsent int, bad []string) {
	for _, r := range rems {
		if r.IsTask() {
			continue
		}
		switch r.Status {
		case followup.StatusSent, followup.StatusDelivered, followup.StatusPending, followup.StatusSending:
			continue
		case followup.StatusDeferred, followup.StatusRetry:
			if !r.Account().Reason.Known() {
				bad = append(bad, fmt.Sprintf("reminder %s (%s) is %s without a documented reason: %q", r.ID, r.Class, r.Status, r.Account().Reason))
			}
			continue
		}
		unsent++
		if !r.Reason.Known() {
			bad = append(bad, fmt.Sprintf("reminder %s (%s) ended %s without a documented reason: %q", r.ID, r.Class, r.Status, r.Reason))
		}
	}
	return unsent, bad
}

// The reason check can fail: a skipped message, a failed one and a deferred one without
// a code are each named; a message skipped for a documented reason is not.
func TestAnUnsentMessageWithoutAReasonIsNamed(t *testing.T) {
	rems := []followup.Reminder{
		{ID: "ok", Status: followup.StatusSkipped, Reason: followup.ReasonStale},
		{ID: "sent", Status: followup.StatusSent},
		{ID: "skipped", Status: followup.StatusSkipped},
		{ID: "failed", Status: followup.StatusFailed, Reason: "made_up"},
		{ID: "deferred", Status: followup.StatusDeferred},
	}
	unsent, bad := unexplained(rems)
	if unsent != 3 || len(bad) != 3 {
		t.Fatalf("unsent %d, unexplained %q; want 3 unsent and skipped, failed, deferred named", unsent, bad)
	}
	for i, id := range []string{"skipped", "failed", "deferred"} {
		if !strings.Contains(bad[i], "reminder "+id+" ") {
			t.Errorf("unexplained[%d] = %q, want reminder %s", i, bad[i], id)
		}
	}
}

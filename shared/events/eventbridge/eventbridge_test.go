package eventbridge

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/tierflow/tierflow/shared/events"
)

// fakeBus refuses the entries whose detail type is "refuse-me".
type fakeBus struct {
	calls [][]types.PutEventsRequestEntry
	fail  error
}

func (f *fakeBus) PutEvents(_ context.Context, in *sdk.PutEventsInput, _ ...func(*sdk.Options)) (*sdk.PutEventsOutput, error) {
	f.calls = append(f.calls, in.Entries)
	if f.fail != nil {
		return nil, f.fail
	}
	out := &sdk.PutEventsOutput{}
	for _, e := range in.Entries {
		if aws.ToString(e.DetailType) == "refuse-me" {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, types.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("no")})
			continue
		}
		out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String("eb-1")})
	}
	return out, nil
}

func ev(i int, typ string, detail any) events.Event {
	return events.Event{ID: events.Key(typ, string(rune('a'+i))), Type: typ, Time: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Store: "sh-01", Detail: detail}
}

func TestEventsGoOutTenACallAndEachFailureIsNamed(t *testing.T) {
	bus := &fakeBus{}
	p := New(bus, "tierflow-dev")
	var evs []events.Event
	for i := range 23 {
		evs = append(evs, ev(i, events.TierChanged, map[string]string{"customerId": "c1"}))
	}
	evs[4].Type = "refuse-me"
	evs = append(evs, ev(30, events.LeadCreated, strings.Repeat("x", MaxEntryBytes)))
	err := p.Publish(context.Background(), evs...)
	if len(bus.calls) != 3 || len(bus.calls[0]) != 10 || len(bus.calls[2]) != 3 {
		t.Fatalf("calls of %v entries, want 10, 10, 3", func() []int {
			var n []int
			for _, c := range bus.calls {
				n = append(n, len(c))
			}
			return n
		}())
	}
	var pe *Error
	if !errors.As(err, &pe) || len(pe.Failed) != 2 {
		t.Fatalf("Publish = %v, want the refused entry and the oversized one", err)
	}
	got := map[string]string{pe.Failed[0].EventID: pe.Failed[0].Code, pe.Failed[1].EventID: pe.Failed[1].Code}
	if got[evs[4].ID] != "InternalFailure" || got[evs[23].ID] != "TooLarge" {
		t.Fatalf("failures %+v", pe.Failed)
	}
	e := bus.calls[0][0]
	if aws.ToString(e.Source) != "tierflow" || aws.ToString(e.EventBusName) != "tierflow-dev" ||
		aws.ToString(e.Detail) != `{"eventId":"`+evs[0].ID+`","store":"sh-01","data":{"customerId":"c1"}}` {
		t.Fatalf("entry %+v", e)
	}
}

func TestACallThatFailsNamesEveryEventOfIt(t *testing.T) {
	bus := &fakeBus{fail: errors.New("throttled")}
	err := New(bus, "b").Publish(context.Background(), ev(0, events.LeadCreated, nil), ev(1, events.LeadCreated, nil))
	var pe *Error
	if !errors.As(err, &pe) || len(pe.Failed) != 2 || !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("Publish = %v", err)
	}
	if err := New(bus, "b").Publish(context.Background()); err != nil {
		t.Fatalf("nothing to publish: %v", err)
	}
}

package events_test

import (
	"context"
	"testing"

	"github.com/tierflow/tierflow/shared/events"
)

func TestKeyIsTheSameForTheSameChangeOnly(t *testing.T) {
	a := events.Key(events.TierChanged, "cust-1", "night-2025-03-01")
	cases := []struct {
		name string
		key  string
		same bool
	}{
		{"the same change again", events.Key(events.TierChanged, "cust-1", "night-2025-03-01"), true},
		{"another night", events.Key(events.TierChanged, "cust-1", "night-2025-03-02"), false},
		{"another type", events.Key(events.StageChanged, "cust-1", "night-2025-03-01"), false},
		{"parts do not run together", events.Key(events.TierChanged, "cust-1night-", "2025-03-01"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if (tc.key == a) != tc.same {
				t.Errorf("key %s vs %s: same=%v, want %v", tc.key, a, tc.key == a, tc.same)
			}
		})
	}
}

func TestMemoryKeepsWhatWasPublished(t *testing.T) {
	var m events.Memory
	if err := m.Publish(context.Background(), events.Event{ID: "1", Type: events.LeadCreated}, events.Event{ID: "2", Type: events.TierChanged}); err != nil {
		t.Fatal(err)
	}
	if got := m.Events(); len(got) != 2 || got[1].Type != events.TierChanged {
		t.Fatalf("events = %+v", got)
	}
	if err := (events.Nop{}).Publish(context.Background(), events.Event{}); err != nil {
		t.Fatal(err)
	}
}

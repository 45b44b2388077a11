package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

func TestAuditEntriesAreAppendedAndReadNewestFirst(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	id := "c-" + storetest.Suffix()
	at := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	for i, action := range []string{"read", "update", "read"} {
		// The same request id twice (a read then an update in one request) keeps both.
		if err := tbl.Audit(ctx, store.AuditEntry{CustomerID: id, At: at.Add(time.Duration(i/2) * time.Second), RequestID: "req-1",
			Actor: "staff-1", Role: "agent", SourceIP: "198.51.100.7", Action: action, Fields: []string{"name"}}); err != nil {
			t.Fatal(err)
		}
	}
	es, _, err := tbl.AuditLog(ctx, id, 10, "")
	if err != nil || len(es) != 3 {
		t.Fatalf("got %d entries, %v", len(es), err)
	}
	if es[0].Action != "read" || !es[0].At.Equal(at.Add(time.Second)) || es[0].SourceIP != "198.51.100.7" {
		t.Fatalf("newest entry: %+v", es[0])
	}
}

package cost_test

import (
	"context"
	"os"
	"testing"

	"github.com/tierflow/tierflow/shared/store/storetest"
	"github.com/tierflow/tierflow/shared/tiering/cost"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// Ingest's request units, against DynamoDB Local: a new transaction of a customer who has
// bought before, its follow-up planning included, costs at most 1 RRU + 4 WRU (issue
// #13 asks 3 WRU: see cost.IngestNewMaxWRU); its redelivery at most 1 RRU and no write.
func TestIngestStaysInItsRequestUnitBudget(t *testing.T) {
	got, err := cost.MeasureIngest(context.Background(), storetest.Table(t), "sh-01", storetest.Suffix())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("new transaction %.1f RRU + %.1f WRU in %d calls; duplicate %.1f RRU + %.1f WRU in %d calls",
		got.New.Read, got.New.Write, got.New.Calls, got.Duplicate.Read, got.Duplicate.Write, got.Duplicate.Calls)
	if got.New.Read > cost.IngestNewMaxRRU || got.New.Write > cost.IngestNewMaxWRU {
		t.Errorf("a new transaction cost %.1f RRU + %.1f WRU, budget %.0f + %.0f", got.New.Read, got.New.Write, cost.IngestNewMaxRRU, cost.IngestNewMaxWRU)
	}
	if got.Duplicate.Read > cost.IngestDuplicateMaxRRU || got.Duplicate.Write > cost.IngestDuplicateMaxWRU {
		t.Errorf("a duplicate cost %.1f RRU + %.1f WRU, budget %.0f + %.0f", got.Duplicate.Read, got.Duplicate.Write, cost.IngestDuplicateMaxRRU, cost.IngestDuplicateMaxWRU)
	}
}

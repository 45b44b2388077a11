package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

func TestRateLimitRefusesTheHitOverTheLimitUntilTheWindowEnds(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	rl := store.RateLimit{Scope: "test", Limit: 3, Window: time.Minute}
	subject := "ip-" + storetest.Suffix()
	now := time.Date(2025, 3, 4, 10, 0, 15, 0, time.UTC)
	for i := range 3 {
		ok, _, err := tbl.Allow(ctx, rl, subject, now)
		if err != nil || !ok {
			t.Fatalf("hit %d refused: %v", i+1, err)
		}
	}
	ok, retry, err := tbl.Allow(ctx, rl, subject, now)
	if err != nil || ok || retry != 45*time.Second {
		t.Fatalf("4th hit: ok=%v retry=%v err=%v; want refused for 45s", ok, retry, err)
	}
	if ok, _, err := tbl.Allow(ctx, rl, subject, now.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("the next window is still refused (err %v)", err)
	}
}

func TestIdempotencyKeyReplaysTheStoredResponse(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	key, now := storetest.Suffix(), time.Now()
	if r, err := tbl.BeginIdempotent(ctx, "test", key, "fp1", now); err != nil || r != nil {
		t.Fatalf("first claim: %v %v", r, err)
	}
	if _, err := tbl.BeginIdempotent(ctx, "test", key, "fp1", now); !errors.Is(err, store.ErrInProgress) {
		t.Fatalf("concurrent retry: got %v, want ErrInProgress", err)
	}
	want := store.StoredResponse{Status: 201, Body: `{"id":"x"}`}
	if err := tbl.FinishIdempotent(ctx, "test", key, want); err != nil {
		t.Fatal(err)
	}
	got, err := tbl.BeginIdempotent(ctx, "test", key, "fp1", now)
	if err != nil || got == nil || got.Status != 201 || got.Body != want.Body {
		t.Fatalf("retry: got %+v %v", got, err)
	}
	if _, err := tbl.BeginIdempotent(ctx, "test", key, "fp2", now); !errors.Is(err, store.ErrKeyReused) {
		t.Fatalf("other body: got %v, want ErrKeyReused", err)
	}
	// A failed attempt releases its key so the retry runs.
	key2 := storetest.Suffix()
	if r, err := tbl.BeginIdempotent(ctx, "test", key2, "fp", now); err != nil || r != nil {
		t.Fatalf("first claim of a new key: %v %v", r, err)
	}
	if err := tbl.AbandonIdempotent(ctx, "test", key2); err != nil {
		t.Fatal(err)
	}
	if r, err := tbl.BeginIdempotent(ctx, "test", key2, "fp", now); err != nil || r != nil {
		t.Fatalf("claim after abandon: %v %v", r, err)
	}
}

package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/apikey"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

func TestARotatedOrRevokedKeysSecretFindsNothingAndTheLookupCostsHalfARead(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	id := store.NewID()
	s1, err := apikey.NewSecret(id)
	if err != nil {
		t.Fatal(err)
	}
	k := apikey.Key{ID: id, Name: "pos", Stores: []string{"sh-01"}, Permissions: []apikey.Permission{apikey.TransactionsWrite},
		RatePerMinute: 60, CreatedBy: "admin-1", CreatedAt: now}
	if err := tbl.CreateAPIKey(ctx, k, s1); err != nil {
		t.Fatal(err)
	}
	before := tbl.Units.Snapshot()
	got, found, err := tbl.APIKeyBySecretHash(ctx, s1.Hash)
	if err != nil || !found || got.ID != id || got.Stores[0] != "sh-01" || !got.Has(apikey.TransactionsWrite) {
		t.Fatalf("lookup = %+v %v %v", got, found, err)
	}
	if d := tbl.Units.Snapshot().Sub(before); d.Read != 0.5 || d.Write != 0 {
		t.Fatalf("lookup cost %+v, want 0.5 RRU", d)
	}
	if err := tbl.TouchAPIKey(ctx, id, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	listed, err := tbl.APIKey(ctx, id)
	if err != nil || listed.LastUsedAt == nil || !listed.LastUsedAt.Equal(now.Add(time.Minute)) || listed.Hint != s1.Hint {
		t.Fatalf("after touch: %+v %v", listed, err)
	}

	s2, _ := apikey.NewSecret(id)
	if _, err := tbl.RotateAPIKey(ctx, id, s2, now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := tbl.APIKeyBySecretHash(ctx, s1.Hash); found {
		t.Fatal("the old secret still works after rotation")
	}
	if _, found, _ := tbl.APIKeyBySecretHash(ctx, s2.Hash); !found {
		t.Fatal("the new secret does not work after rotation")
	}
	if err := tbl.RevokeAPIKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := tbl.APIKeyBySecretHash(ctx, s2.Hash); found {
		t.Fatal("a revoked key's secret still works")
	}
	if err := tbl.TouchAPIKey(ctx, id, now.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.APIKey(ctx, id); !errors.Is(err, store.ErrNoAPIKey) {
		t.Fatalf("a touch brought a revoked key back: %v", err)
	}
	if err := tbl.RevokeAPIKey(ctx, id); !errors.Is(err, store.ErrNoAPIKey) {
		t.Fatalf("revoking twice: %v, want ErrNoAPIKey", err)
	}
}

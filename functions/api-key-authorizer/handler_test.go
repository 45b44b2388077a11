package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/apikey"
	"github.com/tierflow/tierflow/shared/auth"
)

type fakeKeys struct {
	byHash  map[string]apikey.Key
	touches int
}

func (f *fakeKeys) APIKeyBySecretHash(_ context.Context, h string) (apikey.Key, bool, error) {
	k, ok := f.byHash[h]
	return k, ok, nil
}
func (f *fakeKeys) TouchAPIKey(context.Context, string, time.Time) error { f.touches++; return nil }

func TestTheAuthorizerGrantsAKeyItsStoresAndPermissionsAndNothingElse(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	good, _ := apikey.NewSecret("k1")
	expired, _ := apikey.NewSecret("k2")
	stolen, _ := apikey.NewSecret("k3") // a valid secret presented as another id's
	past := now.Add(-time.Second)
	keys := &fakeKeys{byHash: map[string]apikey.Key{
		good.Hash:    {ID: "k1", Stores: []string{"sh-01"}, Permissions: []apikey.Permission{apikey.TransactionsWrite}, RatePerMinute: 60},
		expired.Hash: {ID: "k2", Stores: []string{"sh-01"}, Permissions: []apikey.Permission{apikey.TransactionsWrite}, ExpiresAt: &past},
		stolen.Hash:  {ID: "k9", Stores: []string{"sh-01"}},
	}}
	clock := now
	a := New(keys, func() time.Time { return clock }, slog.New(slog.DiscardHandler))
	ask := func(key string) events.APIGatewayV2CustomAuthorizerSimpleResponse {
		r, err := a.Handle(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{Headers: map[string]string{"x-api-key": key}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := ask(good.Plain)
	p, err := auth.FromKeyContext(r.Context)
	if !r.IsAuthorized || err != nil || p.Sub != "key:k1" || !p.CanSeeStore("sh-01") || p.CanSeeStore("bj-01") || !p.Can("transactions:write") || p.Can("customers:read") || p.Key.RatePerMinute != 60 {
		t.Fatalf("good key: %+v → %+v %v", r, p, err)
	}
	for name, k := range map[string]string{"expired": expired.Plain, "another id's secret": stolen.Plain, "junk": "letmein", "empty": "",
		"unknown": func() string { s, _ := apikey.NewSecret("k1"); return s.Plain }()} {
		if ask(k).IsAuthorized {
			t.Errorf("%s key authorized", name)
		}
	}
	for i := 0; i < 5; i++ {
		clock = clock.Add(10 * time.Second)
		ask(good.Plain)
	}
	if keys.touches != 1 {
		t.Fatalf("last-used written %d times in 50 s, want once", keys.touches)
	}
	clock = clock.Add(TouchEvery)
	ask(good.Plain)
	if keys.touches != 2 {
		t.Fatalf("last-used written %d times after a minute, want 2", keys.touches)
	}
}

package apikey

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/httpx"
)

func TestASecretIsRecognisedByItsHashAndJunkIsNotLookedUp(t *testing.T) {
	s, err := NewSecret("abcdefgh23456789")
	if err != nil {
		t.Fatal(err)
	}
	hash, id, err := Check(s.Plain)
	if err != nil || hash != s.Hash || id != "abcdefgh23456789" {
		t.Fatalf("Check(new secret) = %q %q %v", hash, id, err)
	}
	if strings.Contains(s.Hash, s.Plain[len(Prefix)+17:]) || !strings.HasPrefix(s.Plain, s.Hint) {
		t.Fatal("hash or hint leaks the secret")
	}
	for _, junk := range []string{"", "Bearer x", "tfk_", "tfk_abc_short", s.Plain + "x", strings.Repeat("tfk_a_", 40)} {
		if _, _, err := Check(junk); !errors.Is(err, ErrMalformed) {
			t.Errorf("Check(%q) = %v, want ErrMalformed", junk, err)
		}
	}
	other, _ := NewSecret("abcdefgh23456789")
	if other.Hash == s.Hash {
		t.Fatal("two secrets of one key share a hash")
	}
}

func TestAKeyReachesNoFurtherThanTheAdminWhoMadeIt(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	valid := func(s string) bool { return s == "sh-01" || s == "bj-01" }
	covers := func(s string) bool { return s == "sh-01" }
	past := now.Add(-time.Hour)
	cases := []struct {
		name  string
		req   CreateRequest
		field string
	}{
		{"a store the admin does not cover", CreateRequest{Name: "pos", Stores: []string{"bj-01"}, Permissions: []Permission{TransactionsWrite}}, "/stores/0"},
		{"an unknown store", CreateRequest{Name: "pos", Stores: []string{"zz"}, Permissions: []Permission{TransactionsWrite}}, "/stores/0"},
		{"an unknown permission", CreateRequest{Name: "pos", Stores: []string{"sh-01"}, Permissions: []Permission{"policy:write"}}, "/permissions/0"},
		{"no name", CreateRequest{Stores: []string{"sh-01"}, Permissions: []Permission{TransactionsWrite}}, "/name"},
		{"an expiry in the past", CreateRequest{Name: "pos", Stores: []string{"sh-01"}, Permissions: []Permission{TransactionsWrite}, ExpiresAt: &past}, "/expiresAt"},
		{"a rate above the cap", CreateRequest{Name: "pos", Stores: []string{"sh-01"}, Permissions: []Permission{TransactionsWrite}, RatePerMinute: MaxRatePerMinute + 1}, "/ratePerMinute"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.req.Validate(valid, covers, now)
			var he *httpx.Error
			if !errors.As(err, &he) || he.Status != http.StatusBadRequest || len(he.Fields) == 0 || he.Fields[0].Field != c.field {
				t.Fatalf("Validate = %v, want 400 naming %s", err, c.field)
			}
		})
	}
	k, err := CreateRequest{Name: " pos ", Stores: []string{"sh-01", "sh-01"}, Permissions: []Permission{TransactionsWrite}}.Validate(valid, covers, now)
	if err != nil || k.Name != "pos" || len(k.Stores) != 1 || k.RatePerMinute != DefaultRatePerMinute {
		t.Fatalf("Validate(good) = %+v, %v", k, err)
	}
}

package access

import (
	"net/http"
	"testing"

	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/httpx"
)

func keyCaller(perms ...string) auth.Principal {
	p, err := auth.FromKeyContext(auth.KeyContext("k1", []string{"sh-01"}, perms, 60))
	if err != nil {
		panic(err)
	}
	return p
}

func TestAnAPIKeyMayDoOnlyWhatItsPermissionsName(t *testing.T) {
	cases := []struct {
		name string
		p    auth.Principal
		act  Action
		want int
	}{
		{"a POS key posts transactions", keyCaller("transactions:write"), PostTransactions, 0},
		{"a POS key does not read customers", keyCaller("transactions:write"), ReadCustomer, http.StatusForbidden},
		{"a reading key lists customers", keyCaller("customers:read"), ListCustomers, 0},
		{"a website key imports customers", keyCaller("leads:write"), CreateCustomers, 0},
		{"an events key records events", keyCaller("events:write"), RecordEvent, 0},
		{"no key edits a customer", keyCaller("transactions:write", "leads:write", "customers:read", "events:write"), EditCustomer, http.StatusForbidden},
		{"no key exports a customer", keyCaller("customers:read"), ExportCustomer, http.StatusForbidden},
		{"no key reads the audit log", keyCaller("customers:read"), ReadAudit, http.StatusForbidden},
		{"no key changes the policy", keyCaller("transactions:write"), ChangePolicy, http.StatusForbidden},
		{"no key works tasks", keyCaller("events:write"), WorkTasks, http.StatusForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Require(c.p, c.act)
			if got := httpx.StatusOf(err); (c.want == 0 && err != nil) || (c.want != 0 && got != c.want) {
				t.Fatalf("Require(%s) = %v (status %d), want status %d", c.act, err, got, c.want)
			}
		})
	}
}

func TestAKeyIsAttributedAsAKeyAndSeesOnlyItsStores(t *testing.T) {
	p := keyCaller("customers:read")
	if p.Sub != "key:k1" || p.AuditRole() != "key" {
		t.Fatalf("principal %q role %q, want key:k1 / key", p.Sub, p.AuditRole())
	}
	if !p.CanSeeStore("sh-01") || p.CanSeeStore("bj-01") || p.CanSeeStore("") {
		t.Fatal("a key of sh-01 must see sh-01 only")
	}
	if _, err := auth.FromKeyContext(auth.KeyContext("k2", []string{"*"}, []string{"customers:read"}, 60)); httpx.StatusOf(err) != http.StatusForbidden {
		t.Fatalf("a key context naming every store: %v, want 403", err)
	}
	if _, err := auth.FromKeyContext(map[string]any{}); httpx.StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("an empty key context: %v, want 401", err)
	}
}

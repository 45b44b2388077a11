package hostile

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/store"
)

// The suite is only as good as its comparison: these check the harness itself, without
// the stack.

func item(pk, sk string, attrs map[string]types.AttributeValue) snapItem {
	raw := map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}
	for k, v := range attrs {
		raw[k] = v
	}
	return snapItem{PK: pk, SK: sk, Raw: raw, Canon: canon(&types.AttributeValueMemberM{Value: raw})}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func TestDiffSeesEveryChangeAndOnlyChanges(t *testing.T) {
	a := snapshot{}
	b := snapshot{}
	put := func(sn snapshot, it snapItem) { sn[it.PK+" "+it.SK] = it }
	put(a, item("CUST#c1", "PROFILE", map[string]types.AttributeValue{"name": s("Wei"), "tags": &types.AttributeValueMemberSS{Value: []string{"x", "y"}}}))
	put(b, item("CUST#c1", "PROFILE", map[string]types.AttributeValue{"name": s("Wei"), "tags": &types.AttributeValueMemberSS{Value: []string{"y", "x"}}}))
	put(a, item("CUST#c2", "PROFILE", map[string]types.AttributeValue{"name": s("Li")}))
	put(b, item("CUST#c2", "PROFILE", map[string]types.AttributeValue{"name": s("Mallory"), "email": s("m@evil.example")}))
	put(a, item("PHONE#+861", "UNIQUE", nil))
	put(b, item("EMAIL#m@evil.example", "UNIQUE", nil))
	got := map[string]string{}
	for _, c := range diff(a, b) {
		got[c.Key] = c.String()
	}
	want := map[string]string{
		"CUST#c2 PROFILE":             "modified CUST#c2 PROFILE (email, name)",
		"PHONE#+861 UNIQUE":           "removed PHONE#+861 UNIQUE",
		"EMAIL#m@evil.example UNIQUE": "added EMAIL#m@evil.example UNIQUE",
	}
	if len(got) != len(want) {
		t.Fatalf("diff = %v, want %v (a set in another order is no change)", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("diff[%s] = %q, want %q", k, got[k], v)
		}
	}
}

func TestOnlyBookkeepingIsExcludedFromTheComparison(t *testing.T) {
	added := func(pk, sk string) change {
		it := item(pk, sk, nil)
		return change{Key: pk + " " + sk, PK: pk, SK: sk, After: &it}
	}
	removed := func(pk, sk string) change {
		it := item(pk, sk, nil)
		return change{Key: pk + " " + sk, PK: pk, SK: sk, Before: &it}
	}
	for _, tc := range []struct {
		name     string
		c        change
		excluded bool
	}{
		{"an audit entry", added("AUDIT#c1", "2026-01-01T00:00:00.000Z#r1"), true},
		{"a rate-limit window", added("RATE#lead-ip#127.0.0.1", "2026-01-01T00:00:00.000Z"), true},
		{"an idempotency claim", added("IDEM#lead#k1", "IDEM"), true},
		{"a caller enrolled in their own store", added("STAFF#sh-01", "agent#"+subOf(agentSH)), true},
		{"a caller enrolled in another store", added("STAFF#bj-01", "agent#"+subOf(agentSH)), false},
		{"a staff member removed", removed("STAFF#sh-01", "agent#"+subOf(agentSH)), false},
		{"a profile", added("CUST#c1", "PROFILE"), false},
		{"a contact key", removed("PHONE#+861", "UNIQUE"), false},
		{"a counter", added("CTR#rr#sh-01#agent", "CTR"), false},
	} {
		if got := exclusion(tc.c) != ""; got != tc.excluded {
			t.Errorf("%s: excluded = %v, want %v", tc.name, got, tc.excluded)
		}
	}
}

func TestAPublicTouchMayAddATouchAndATaskButChangeNoStoredField(t *testing.T) {
	w := &world{customers: map[string]string{"bjB": "c2", "shA": "c1"}, names: map[string]string{"c2": "bjB", "c1": "shA"}}
	k := store.CustomerKey("c2")
	before := item(k.PK, k.SK, map[string]types.AttributeValue{"name": s("")})
	modified := func(attrs ...string) change {
		after := before
		return change{Key: k.PK + " " + k.SK, PK: k.PK, SK: k.SK, Before: &before, After: &after, Attrs: attrs}
	}
	added := func(pk, sk, owner string) change {
		attrs := map[string]types.AttributeValue{}
		if owner != "" {
			attrs["customerId"] = s(owner)
		}
		it := item(pk, sk, attrs)
		return change{Key: pk + " " + sk, PK: pk, SK: sk, After: &it}
	}
	a := allowance{PublicTouch: "bjB"}
	for _, tc := range []struct {
		name string
		c    change
		ok   bool
	}{
		{"the touch list and version", modified("touches", "updatedAt", "version"), true},
		{"a blank name filled", modified("name", "touches"), false},
		{"consent", modified("consents", "touches"), false},
		{"an e-mail filled", modified("email"), false},
		{"a new touch", added("CUST#c2", "TOUCH#2026#t1", ""), true},
		{"a task pointer", added("CUST#c2", "REM#r1", ""), true},
		{"the task", added("REM#r1", "REM", "c2"), true},
		{"another customer's task", added("REM#r2", "REM", "c1"), false},
		{"a purchase", added("CUST#c2", "TXN#2026#pos#1", ""), false},
		{"the poster's e-mail as the person's key", added("EMAIL#m@evil.example", "UNIQUE", "c2"), false},
		{"a consent confirmation token", added("CONSENT#tok", "TOKEN", "c2"), true},
		{"a round-robin counter", added("CTR#rr#bj-01#clinician", "CTR", ""), true},
		{"another customer's profile", added("CUST#c1", "TOUCH#2026#t2", ""), false},
	} {
		if got := a.permits(w, tc.c); got != tc.ok {
			t.Errorf("%s: permitted = %v, want %v", tc.name, got, tc.ok)
		}
	}
	if (allowance{}).permits(w, added("CUST#c2", "TOUCH#2026#t1", "")) {
		t.Error("a row that allows nothing permitted a new touch")
	}
}

func TestFieldsMatchTheirPointerInABatch(t *testing.T) {
	for _, tc := range []struct {
		got, want string
		ok        bool
	}{
		{"/transactions/0/customer/id", "/customer/id", true},
		{"/customer/id", "/customer/id", true},
		{"/transactions/0/customer", "/customer/id", false},
		{"/transactions/0/customer/id", "/customer", false},
		{"cursor", "cursor", true},
		{"/transactions/0/amount", "/amount", true},
	} {
		if fieldIs(tc.got, tc.want) != tc.ok {
			t.Errorf("fieldIs(%q, %q) = %v", tc.got, tc.want, !tc.ok)
		}
	}
}

func TestATamperedCursorPointsAtTheOtherStore(t *testing.T) {
	b, err := json.Marshal(map[string]string{"PK": "REM#r1", "SK": "REM", "GSI2PK": "STORETASK#sh-01", "GSI2SK": "open#x"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := base64.RawURLEncoding.DecodeString(tamper(base64.RawURLEncoding.EncodeToString(b), "STORETASK#bj-01"))
	var m map[string]string
	if err != nil || json.Unmarshal(got, &m) != nil || m["GSI2PK"] != "STORETASK#bj-01" || m["PK"] != "REM#r1" {
		t.Fatalf("tampered cursor = %s, %v", got, err)
	}
	if opaque := "signed.cursor.value"; tamper(opaque, "x") == opaque {
		t.Error("an opaque cursor came back untouched")
	}
}

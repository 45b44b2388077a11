package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/model"
)

// everyStoreLedger answers every store's rows whatever it is asked: what is tested is
// that the staff desk keeps to the caller's scope itself.
type everyStoreLedger struct{ asked []string }

func (l *everyStoreLedger) Referrals(_ context.Context, st string) ([]ReferralRow, error) {
	l.asked = append(l.asked, st)
	return []ReferralRow{
		{Store: "bj-01", ReferrerID: "r9", RefereeID: "e9", Spend: 100000, Reward: 15000, RateBps: 1500},
		{Store: "sh-01", ReferrerID: "r1", RefereeID: "e1", Spend: 20000, Reward: 1000, RateBps: 500},
	}, nil
}

func TestReferralsKeepToTheCallersStores(t *testing.T) {
	layer := access.New(access.Ports{}, time.Now)
	cases := []struct {
		name      string
		p         auth.Principal
		requested string
		asked     string
		referrers string
	}{
		{"a store's manager reads that store's ledger only", auth.Principal{Sub: "m", Role: model.RoleClinician, Stores: []string{"sh-01"}}, "", "[sh-01]", "[r1]"},
		{"all-stores staff read every store's in one ask", auth.Principal{Sub: "a", Role: model.RoleAdmin, Stores: []string{auth.AllStores}}, "", "[]", "[r9 r1]"},
		{"all-stores staff asking for one store get that store's", auth.Principal{Sub: "a", Role: model.RoleAdmin, Stores: []string{auth.AllStores}}, "bj-01", "[bj-01]", "[r9]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := layer.Scope(tc.p, tc.requested, access.ReadReports)
			if err != nil {
				t.Fatal(err)
			}
			l := &everyStoreLedger{}
			rows, err := referralsIn(context.Background(), l, sc)
			if err != nil {
				t.Fatal(err)
			}
			var refs []string
			for _, r := range rows {
				refs = append(refs, r.ReferrerID)
			}
			if fmt.Sprint(refs) != tc.referrers || fmt.Sprint(l.asked) != tc.asked { // [] is one ask for "" (every store)
				t.Fatalf("asked %q, got %v; want %s, %s", l.asked, refs, tc.asked, tc.referrers)
			}
		})
	}
}

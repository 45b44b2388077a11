package store

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/customer"
)

// DieAfterClaims is the first half of a creation (createProfile): it claims a fresh
// referral code and the lead's phone, e-mail and, when ref is given, customer number for a
// fresh id at now, and stops there, as a creation whose process died before its profile
// would. It returns the id and the referral code.
func (t *Table) DieAfterClaims(ctx context.Context, lead customer.Lead, ref *access.Ref, now time.Time) (id, code string, err error) {
	code, err = customer.NewReferralCode(rand.Reader)
	if err != nil {
		return "", "", err
	}
	id = NewID()
	p := customer.NewProfile(id, code, "", lead, customer.DefaultGradePolicy().Grade(lead))
	var k *Key
	if ref != nil {
		rk := CustomerRefKey(ref.Store, ref.Number)
		k = &rk
	}
	return id, code, t.claimAll(ctx, creationKeys(p, k), id, now)
}

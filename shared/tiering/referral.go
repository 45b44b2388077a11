package tiering

import (
	"fmt"

	"github.com/tierflow/tierflow/shared/model"
)

// Referral is the referral reward (MISSION.md "Referrals"): the referrer earns 5–15 % of
// the referee's actual spend, tiered by it. Each band's rate applies to the part of the
// referee's lifetime net spend that falls in the band, so the reward is a function of
// that spend alone: a transaction adds its share, a refund takes exactly its share back,
// and counting the spend once counts the reward once.
type Referral struct {
	Bands []ReferralBand `json:"bands"`
}

// ReferralBand: from FromSpend of the referee's net spend on, RateBps basis points.
type ReferralBand struct {
	FromSpend Amount `json:"fromSpend"`
	RateBps   int    `json:"rateBps"`
}

// DefaultReferral is the reward when a policy names none: 5 % up to ¥10,000 of the
// referee's spend, 10 % up to ¥50,000, 15 % beyond.
var DefaultReferral = Referral{Bands: []ReferralBand{{0, 500}, {1_000_000, 1000}, {5_000_000, 1500}}}

// ReferralRule is the policy's referral reward, or DefaultReferral.
func (p *Policy) ReferralRule() Referral {
	if p.Referral == nil || len(p.Referral.Bands) == 0 {
		return DefaultReferral
	}
	return *p.Referral
}

// Reward is what the referrer has earned on spend, the referee's lifetime net spend
// (nothing on a spend of 0 or less), and the rate of the band spend is in.
func (r Referral) Reward(spend model.Money) (reward model.Money, rateBps int) {
	if len(r.Bands) == 0 {
		return 0, 0
	}
	rateBps = r.Bands[0].RateBps
	var bps int64 // reward in minor units × 10,000
	for i, b := range r.Bands {
		from := model.Money(b.FromSpend)
		if spend <= from {
			break
		}
		to := spend
		if i+1 < len(r.Bands) && model.Money(r.Bands[i+1].FromSpend) < to {
			to = model.Money(r.Bands[i+1].FromSpend)
		}
		bps += int64(to-from) * int64(b.RateBps)
		rateBps = b.RateBps
	}
	return model.Money(bps / 10_000), rateBps
}

// validate checks the bands: the first from 0, ascending, each rate 5–15 %.
func (r Referral) validate(bad func(string, string, ...any)) {
	for i, b := range r.Bands {
		f := fmt.Sprintf("/referral/bands/%d", i)
		if b.RateBps < 500 || b.RateBps > 1500 {
			bad(f+"/rateBps", "must be between 500 and 1500 (5–15 %%)")
		}
		switch {
		case i == 0 && b.FromSpend != 0:
			bad(f+"/fromSpend", "the first band starts at 0")
		case i > 0 && b.FromSpend <= r.Bands[i-1].FromSpend:
			bad(f+"/fromSpend", "must be above the band before")
		}
	}
}

package tiering

import (
	"testing"

	"github.com/tierflow/tierflow/shared/model"
)

func TestTheReferralRewardIsTieredByTheRefereesSpendAndARefundTakesItsShareBack(t *testing.T) {
	r := DefaultReferral
	tests := []struct {
		name   string
		spend  model.Money
		reward model.Money
		rate   int
	}{
		{"nothing spent earns nothing", 0, 0, 500},
		{"more refunded than spent earns nothing", -5_000, 0, 500},
		{"5 % of the first ¥10,000", 200_000, 10_000, 500},
		{"exactly at the first step", 1_000_000, 50_000, 500},
		{"10 % of the part above ¥10,000", 2_000_000, 50_000 + 100_000, 1000},
		{"15 % of the part above ¥50,000", 6_000_000, 50_000 + 400_000 + 150_000, 1500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rate := r.Reward(tc.spend)
			if got != tc.reward || rate != tc.rate {
				t.Fatalf("Reward(%d) = %d at %d bps, want %d at %d", tc.spend, got, rate, tc.reward, tc.rate)
			}
		})
	}
	// A purchase and its refund leave the reward where it was.
	before, _ := r.Reward(1_500_000)
	after, _ := r.Reward(1_500_000 + 800_000 - 800_000)
	if before != after {
		t.Fatalf("a refunded purchase moved the reward from %d to %d", before, after)
	}
}

func TestAPolicysReferralBandsAreChecked(t *testing.T) {
	p := DefaultPolicy().Clone()
	p.Referral = &Referral{Bands: []ReferralBand{{100, 400}, {50, 2000}}}
	errs, ok := p.Validate().(ValidationErrors)
	if !ok || len(errs) != 4 {
		t.Fatalf("validate: %v, want the first band's start and rate and the second's order and rate named", p.Validate())
	}
}

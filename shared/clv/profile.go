package clv

import (
	"fmt"
	"math"

	"github.com/tierflow/tierflow/shared/model"
)

// ProfileCLV is the `clv` attribute of a profile: the nightly run's prediction.
// Money is in minor units; every number is finite (checked before it is written).
type ProfileCLV struct {
	PAlive            float64     `dynamodbav:"pAlive" json:"pAlive"`
	ExpectedPurchases float64     `dynamodbav:"expectedPurchases90d" json:"expectedPurchases90d"`
	ExpectedSpend     model.Money `dynamodbav:"expectedSpend" json:"expectedSpend"`
	CLV               model.Money `dynamodbav:"clv12m" json:"clv12m"`
	Risk              Risk        `dynamodbav:"risk" json:"risk"`
	ModelVersion      string      `dynamodbav:"modelVersion" json:"modelVersion"`
	// StoreModel: a store's own model predicted it (else the business's).
	StoreModel bool `dynamodbav:"storeModel,omitempty" json:"-"`
	// Explanation is derived, never stored (Explain): the profile carries only the numbers
	// it restates, so every profile write stays a unit smaller (issue #13).
	Explanation string `dynamodbav:"-" json:"explanation"`
	At          string `dynamodbav:"at" json:"at"` // business day of the prediction
}

// Explain says why, in one line with no personal data: "P(alive)=0.27 (high risk);
// 0.40 purchases expected in 90 days, 12-month CLV 1234.00; store model night-2025-01-01".
func (p ProfileCLV) Explain() string {
	scope := "business"
	if p.StoreModel {
		scope = "store"
	}
	return fmt.Sprintf("P(alive)=%.2f (%s risk); %.2f purchases expected in %d days, %d-month CLV %s; %s model %s",
		p.PAlive, p.Risk, p.ExpectedPurchases, DefaultOutlook.PurchaseDays, DefaultOutlook.CLVMonths, p.CLV.String(), scope, p.ModelVersion)
}

// ExpectedLoss is the value the business stands to lose if the customer has left:
// CLV × (1 − P(alive)), in minor units.
func (p ProfileCLV) ExpectedLoss() model.Money {
	return model.Money(math.Round(float64(p.CLV) * (1 - p.PAlive)))
}

// Finite reports whether every number of the prediction is finite and in range.
func (p ProfileCLV) Finite() bool {
	for _, v := range []float64{p.PAlive, p.ExpectedPurchases} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return false
		}
	}
	return p.PAlive <= 1
}

package clv

import (
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
	Explanation       string      `dynamodbav:"explanation" json:"explanation"`
	At                string      `dynamodbav:"at" json:"at"` // business day of the prediction
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

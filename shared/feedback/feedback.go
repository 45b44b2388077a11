package feedback

import (
	"errors"
	"fmt"
)

// ErrOutOfRange is returned for a score outside its scale; callers answer 400.
var ErrOutOfRange = errors.New("score out of range")

// CSAT is a customer-satisfaction answer on a 1–5 scale.
type CSAT int

// Validate rejects values outside 1–5.
func (c CSAT) Validate() error {
	if c < 1 || c > 5 {
		return fmt.Errorf("%w: CSAT %d, want 1–5", ErrOutOfRange, int(c))
	}
	return nil
}

// NPS is a likelihood-to-recommend answer on a 0–10 scale.
type NPS int

// Validate rejects values outside 0–10.
func (n NPS) Validate() error {
	if n < 0 || n > 10 {
		return fmt.Errorf("%w: NPS %d, want 0–10", ErrOutOfRange, int(n))
	}
	return nil
}

// Group is the NPS bucket.
type Group string

const (
	Promoter  Group = "promoter"
	Passive   Group = "passive"
	Detractor Group = "detractor"
)

// Group places an answer: 9–10 promoter, 7–8 passive, 0–6 detractor.
func (n NPS) Group() Group {
	switch {
	case n >= 9:
		return Promoter
	case n >= 7:
		return Passive
	}
	return Detractor
}

// Response is one survey answer; either score may be absent.
type Response struct {
	CSAT *CSAT
	NPS  *NPS
}

// Validate checks that at least one score is present and each is in range.
func (r Response) Validate() error {
	if r.CSAT == nil && r.NPS == nil {
		return fmt.Errorf("%w: neither CSAT nor NPS given", ErrOutOfRange)
	}
	if r.CSAT != nil {
		if err := r.CSAT.Validate(); err != nil {
			return err
		}
	}
	if r.NPS != nil {
		return r.NPS.Validate()
	}
	return nil
}

// Complaint reports whether the answer must open a manager complaint task: CSAT ≤ 2 or
// NPS ≤ 6. Either low score is enough: a customer who rates the visit 2 but would
// still recommend the place has still complained about the visit.
func (r Response) Complaint() bool {
	return (r.CSAT != nil && *r.CSAT <= 2) || (r.NPS != nil && *r.NPS <= 6)
}

// Sentiment is how an interaction counts in the emotion account.
type Sentiment int

const (
	Neutral      Sentiment = 0
	Satisfied    Sentiment = 1
	Dissatisfied Sentiment = -3 // loss aversion: one bad visit outweighs three good ones
)

// Sentiment classifies the answer: a complaint is dissatisfied; CSAT ≥ 4 or a promoter
// is satisfied; anything else leaves the account alone.
func (r Response) Sentiment() Sentiment {
	switch {
	case r.Complaint():
		return Dissatisfied
	case (r.CSAT != nil && *r.CSAT >= 4) || (r.NPS != nil && r.NPS.Group() == Promoter):
		return Satisfied
	}
	return Neutral
}

// Emotion account bounds: the balance is clamped to ±maxBalance so that years of good
// visits do not make a customer immune to a run of bad ones, and the score maps the
// balance linearly onto 0–100 with 50 as "no history".
const (
	maxBalance = 10
	pointValue = 50 / maxBalance
)

// EmotionAccount is a customer's running balance of satisfied and dissatisfied interactions.
type EmotionAccount struct {
	Balance int `json:"balance" dynamodbav:"balance"`
}

// Record applies one interaction and returns the new account.
func (a EmotionAccount) Record(s Sentiment) EmotionAccount {
	a.Balance = min(max(a.Balance+int(s), -maxBalance), maxBalance)
	return a
}

// Score is the account on a 0–100 scale.
func (a EmotionAccount) Score() int {
	b := min(max(a.Balance, -maxBalance), maxBalance)
	return 50 + b*pointValue
}

// CSATPercent maps a 1–5 answer onto 0–100 so it can feed RQI's satisfaction.
func (c CSAT) Percent() float64 { return float64(c-1) * 25 }

// RQI is the relationship quality index from three 0–100 components.
type RQI struct {
	Trust, Satisfaction, Loyalty float64
}

// Score is trust 30% + satisfaction 30% + loyalty 40%, on 0–100.
func (r RQI) Score() (float64, error) {
	for name, v := range map[string]float64{"trust": r.Trust, "satisfaction": r.Satisfaction, "loyalty": r.Loyalty} {
		if v < 0 || v > 100 || v != v {
			return 0, fmt.Errorf("%w: RQI %s %.1f, want 0–100", ErrOutOfRange, name, v)
		}
	}
	return 0.3*r.Trust + 0.3*r.Satisfaction + 0.4*r.Loyalty, nil
}

// NetPromoterScore is %promoters − %detractors over answers, −100…100; ok is false with no answers.
func NetPromoterScore(answers []NPS) (score float64, ok bool) {
	if len(answers) == 0 {
		return 0, false
	}
	var p, d int
	for _, a := range answers {
		switch a.Group() {
		case Promoter:
			p++
		case Detractor:
			d++
		}
	}
	return 100 * float64(p-d) / float64(len(answers)), true
}

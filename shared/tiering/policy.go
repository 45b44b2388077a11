package tiering

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tierflow/tierflow/shared/model"
)

// Scoring modes: by the customer's rank in the base, or against fixed thresholds.
const (
	ModeQuantile = "quantile"
	ModeAbsolute = "absolute"
)

// Policy is the versioned document that sets every threshold the tier engine uses. Each
// assignment records the version that produced it, so a tier can always be explained
// with the rules in force that night.
type Policy struct {
	Version         int                   `json:"version"`
	TierNames       map[model.Tier]string `json:"tierNames"`
	WindowMonths    int                   `json:"windowMonths"`
	Scoring         Scoring               `json:"scoring"`
	Trend           Trend                 `json:"trend"`
	Tiers           TierRule              `json:"tiers"`
	Lifecycle       Lifecycle             `json:"lifecycle"`
	InstantUpgrades []InstantRule         `json:"instantUpgrades"`
	Downgrade       Downgrade             `json:"downgrade"`
	// Referral is the referral reward; nil: DefaultReferral (ReferralRule).
	Referral *Referral `json:"referral,omitempty"`
}

// Scoring says how R, F and M become scores 1–5. In absolute mode each list holds the
// thresholds for scores 2, 3, 4 and 5: recency at most that many days, frequency at
// least that many purchases per active month, average order above that amount (the seed:
// R ≤ 30 days, F ≥ 2/month, average order > 2000 score 5). Quantile mode scores by
// quintile of the base and ignores the lists.
type Scoring struct {
	Mode              string    `json:"mode"`
	RecencyDays       []int     `json:"recencyDays"`
	FrequencyPerMonth []float64 `json:"frequencyPerMonth"`
	AverageOrder      []Amount  `json:"averageOrder"`
}

// Trend is RFM-T: spend of the last Months full months against the Months before. A
// growth of at least BoostAbove adds Points to the combined score; a fall to PenaltyBelow
// or lower takes them away (−0.5 means spend halved).
type Trend struct {
	Months       int     `json:"months"`
	BoostAbove   float64 `json:"boostAbove"`
	PenaltyBelow float64 `json:"penaltyBelow"`
	Points       int     `json:"points"`
}

// TierRule combines scores: total = r·R + f·F + m·M (± trend points); A from AMin, B
// from BMin, C below.
type TierRule struct {
	Weights Weights `json:"weights"`
	AMin    int     `json:"aMin"`
	BMin    int     `json:"bMin"`
}

// Weights of R, F and M in the combined score.
type Weights struct {
	R int `json:"r"`
	F int `json:"f"`
	M int `json:"m"`
}

// Lifecycle thresholds in days without a purchase. A stage begins once the days since the
// last purchase exceed its threshold (91 days without a purchase is dormant with the
// default 90). A customer whose first purchase is at most NewDays old is new.
type Lifecycle struct {
	NewDays      int `json:"newDays"`
	DormantDays  int `json:"dormantDays"`
	SleepingDays int `json:"sleepingDays"`
	ChurnedDays  int `json:"churnedDays"`
}

// InstantRule upgrades a customer at ingest, without waiting for the night: net spend in
// the window above WindowSpendOver lifts the customer to at least Tier.
type InstantRule struct {
	Name            string     `json:"name"`
	WindowSpendOver Amount     `json:"windowSpendOver"`
	Tier            model.Tier `json:"tier"`
}

// Downgrade is the hysteresis: a customer falls only after GraceNights consecutive nights
// whose scores say a lower tier. Upgrades are immediate.
type Downgrade struct {
	GraceNights int `json:"graceNights"`
}

//go:embed default_policy.json
var defaultPolicyJSON []byte

// DefaultPolicy returns the embedded seed policy (VIP/Silver/Regular, quantile scoring,
// 12-month window, dormant after 90 days, spend over 5000 → Silver, 7 nights of grace).
func DefaultPolicy() *Policy {
	p, err := ParsePolicy(defaultPolicyJSON)
	if err != nil {
		// The embedded document is checked by the tests; reaching this is a build defect.
		panic(fmt.Sprintf("embedded default policy is invalid: %v", err))
	}
	return p
}

// ErrInvalidPolicy is what every policy validation failure matches with errors.Is.
var ErrInvalidPolicy = errors.New("invalid policy")

// ValidationError names the field at fault as a JSON pointer ("/scoring/recencyDays/2"),
// ready to be listed in an RFC 9457 problem response.
type ValidationError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e ValidationError) Error() string { return e.Field + ": " + e.Reason }

// ValidationErrors lists every problem found, not only the first, so an admin can fix a
// policy in one round.
type ValidationErrors []ValidationError

func (v ValidationErrors) Error() string {
	parts := make([]string, len(v))
	for i, e := range v {
		parts[i] = e.Error()
	}
	return "invalid policy: " + strings.Join(parts, "; ")
}

func (v ValidationErrors) Is(target error) bool { return target == ErrInvalidPolicy }

// ParsePolicy decodes and validates a policy document. Unknown fields are errors: a typo
// in a threshold name must not silently fall back to zero.
func ParsePolicy(data []byte) (*Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, ValidationErrors{{Field: "/", Reason: err.Error()}}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks every field and returns ValidationErrors (matching ErrInvalidPolicy)
// or nil.
func (p *Policy) Validate() error {
	var errs ValidationErrors
	bad := func(field, format string, a ...any) {
		errs = append(errs, ValidationError{Field: field, Reason: fmt.Sprintf(format, a...)})
	}
	if p.Version < 1 {
		bad("/version", "must be 1 or more")
	}
	seen := map[string]model.Tier{}
	for _, t := range []model.Tier{model.TierA, model.TierB, model.TierC} {
		name := strings.TrimSpace(p.TierNames[t])
		if name == "" {
			bad("/tierNames/"+string(t), "a name is required")
			continue
		}
		if other, dup := seen[name]; dup {
			bad("/tierNames/"+string(t), "%q is already the name of tier %s", name, other)
		}
		seen[name] = t
	}
	for t := range p.TierNames {
		if t != model.TierA && t != model.TierB && t != model.TierC {
			bad("/tierNames/"+string(t), "tiers are A, B and C")
		}
	}
	if p.WindowMonths < 1 || p.WindowMonths > 60 {
		bad("/windowMonths", "must be between 1 and 60")
	}

	s := p.Scoring
	switch s.Mode {
	case ModeQuantile, ModeAbsolute:
	default:
		bad("/scoring/mode", "must be %q or %q", ModeQuantile, ModeAbsolute)
	}
	required := s.Mode == ModeAbsolute
	checkList(bad, "/scoring/recencyDays", len(s.RecencyDays), required, func(i int) (float64, bool) {
		return float64(s.RecencyDays[i]), s.RecencyDays[i] >= 0
	}, true)
	checkList(bad, "/scoring/frequencyPerMonth", len(s.FrequencyPerMonth), required, func(i int) (float64, bool) {
		return s.FrequencyPerMonth[i], s.FrequencyPerMonth[i] > 0
	}, false)
	checkList(bad, "/scoring/averageOrder", len(s.AverageOrder), required, func(i int) (float64, bool) {
		return float64(s.AverageOrder[i]), s.AverageOrder[i] >= 0
	}, false)

	tr := p.Trend
	if tr.Months < 1 || tr.Months > 12 {
		bad("/trend/months", "must be between 1 and 12")
	} else if 2*tr.Months > p.WindowMonths {
		bad("/trend/months", "needs %d months of history but the window keeps %d", 2*tr.Months, p.WindowMonths)
	}
	if tr.PenaltyBelow < -1 {
		bad("/trend/penaltyBelow", "spend cannot fall by more than 100%% (−1)")
	}
	if tr.BoostAbove <= tr.PenaltyBelow {
		bad("/trend/boostAbove", "must be above penaltyBelow")
	}
	if tr.Points < 0 || tr.Points > 5 {
		bad("/trend/points", "must be between 0 and 5")
	}

	w := p.Tiers.Weights
	for _, f := range []struct {
		name string
		v    int
	}{{"r", w.R}, {"f", w.F}, {"m", w.M}} {
		if f.v < 0 || f.v > 10 {
			bad("/tiers/weights/"+f.name, "must be between 0 and 10")
		}
	}
	maxTotal := 5*(w.R+w.F+w.M) + tr.Points
	switch {
	case w.R+w.F+w.M == 0:
		bad("/tiers/weights", "at least one weight must be positive")
	case p.Tiers.AMin > maxTotal:
		bad("/tiers/aMin", "no customer can reach %d: the highest total is %d", p.Tiers.AMin, maxTotal)
	}
	if p.Tiers.BMin > p.Tiers.AMin {
		bad("/tiers/bMin", "must not exceed aMin (%d)", p.Tiers.AMin)
	}
	if p.Tiers.BMin < 1 {
		bad("/tiers/bMin", "must be 1 or more, or every customer is at least B")
	}

	l := p.Lifecycle
	if l.NewDays < 1 {
		bad("/lifecycle/newDays", "must be 1 or more")
	}
	if l.DormantDays < l.NewDays {
		bad("/lifecycle/dormantDays", "must be at least newDays (%d)", l.NewDays)
	}
	if l.SleepingDays <= l.DormantDays {
		bad("/lifecycle/sleepingDays", "must be more than dormantDays (%d)", l.DormantDays)
	}
	if l.ChurnedDays <= l.SleepingDays {
		bad("/lifecycle/churnedDays", "must be more than sleepingDays (%d)", l.SleepingDays)
	}

	for i, r := range p.InstantUpgrades {
		f := fmt.Sprintf("/instantUpgrades/%d", i)
		if strings.TrimSpace(r.Name) == "" {
			bad(f+"/name", "a name is required: it is shown in the tier's reason")
		}
		if r.WindowSpendOver <= 0 {
			bad(f+"/windowSpendOver", "must be more than 0")
		}
		if r.Tier != model.TierA && r.Tier != model.TierB {
			bad(f+"/tier", "must be A or B: an upgrade to the lowest tier changes nothing")
		}
	}
	if p.Downgrade.GraceNights < 0 || p.Downgrade.GraceNights > 365 {
		bad("/downgrade/graceNights", "must be between 0 and 365")
	}
	if p.Referral != nil {
		p.Referral.validate(bad)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// checkList checks a threshold list: four entries (scores 2..5), each valid and strictly
// ordered — descending for recency (fewer days scores higher), ascending otherwise.
func checkList(bad func(string, string, ...any), field string, n int, required bool, at func(int) (float64, bool), descending bool) {
	if n == 0 && !required {
		return
	}
	if n != 4 {
		bad(field, "needs 4 thresholds (for scores 2, 3, 4 and 5), got %d", n)
		return
	}
	for i := 0; i < n; i++ {
		v, ok := at(i)
		if !ok {
			bad(fmt.Sprintf("%s/%d", field, i), "must not be negative")
			continue
		}
		if i == 0 {
			continue
		}
		prev, _ := at(i - 1)
		if descending && v >= prev {
			bad(fmt.Sprintf("%s/%d", field, i), "must be below %v: a higher score needs fewer days", prev)
		}
		if !descending && v <= prev {
			bad(fmt.Sprintf("%s/%d", field, i), "must be above %v: a higher score needs more", prev)
		}
	}
}

// Name is the business's name for a tier ("VIP"), or the letter when unnamed.
func (p *Policy) Name(t model.Tier) string {
	if n := p.TierNames[t]; n != "" {
		return n
	}
	return string(t)
}

// Clone returns a deep copy, so that an admin edit cannot change a policy in use.
func (p *Policy) Clone() *Policy {
	c := *p
	c.TierNames = make(map[model.Tier]string, len(p.TierNames))
	for k, v := range p.TierNames {
		c.TierNames[k] = v
	}
	c.Scoring.RecencyDays = append([]int(nil), p.Scoring.RecencyDays...)
	c.Scoring.FrequencyPerMonth = append([]float64(nil), p.Scoring.FrequencyPerMonth...)
	c.Scoring.AverageOrder = append([]Amount(nil), p.Scoring.AverageOrder...)
	c.InstantUpgrades = append([]InstantRule(nil), p.InstantUpgrades...)
	if p.Referral != nil {
		r := Referral{Bands: append([]ReferralBand(nil), p.Referral.Bands...)}
		c.Referral = &r
	}
	return &c
}

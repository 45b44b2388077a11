package tiering

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tierflow/tierflow/shared/model"
)

// Amount is money in a policy document: written as a decimal in major units ("5000",
// "2000.50" or 5000) so that admins read what they mean, held as exact minor units.
type Amount model.Money

func (a Amount) String() string { return model.Money(a).String() }

// MarshalJSON writes the amount as a decimal string, never a float.
func (a Amount) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// UnmarshalJSON accepts a JSON string or number with at most two decimal places.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	m, err := ParseAmount(s)
	if err != nil {
		return err
	}
	*a = m
	return nil
}

// ParseAmount parses a decimal in major units ("-12.5", "5000") into minor units.
func ParseAmount(s string) (Amount, error) {
	orig := s
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || len(whole) > 15 {
		return 0, fmt.Errorf("amount %q: %w", orig, errNotDecimal)
	}
	var v int64
	for _, c := range []byte(whole + (frac + "00")[:2]) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("amount %q: %w", orig, errNotDecimal)
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return Amount(v), nil
}

var errNotDecimal = errors.New("want a decimal with at most two places, like 5000 or 2000.50")

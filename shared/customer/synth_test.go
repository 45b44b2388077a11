package customer

import (
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/dataset"
)

// The demo seed posts synthetic customers through the real lead and transaction routes,
// so every generated contact must pass the same validation a person's would.
func TestEverySyntheticContactIsValid(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	syn := dataset.Synth(dataset.SynthConfig{Seed: 1, Customers: 1000, From: now.AddDate(-2, 0, 0), To: now})
	for _, c := range syn.Customers {
		if _, err := NormalizePhone(c.Phone, "CN"); err != nil {
			t.Errorf("customer %s: phone %s: %v", c.ID, c.Phone, err)
		}
		if _, err := NormalizeEmail(c.Email); err != nil {
			t.Errorf("customer %s: email: %v", c.ID, err)
		}
		if err := ValidTimeZone(c.TimeZone); err != nil {
			t.Errorf("customer %s: time zone %s: %v", c.ID, c.TimeZone, err)
		}
	}
}

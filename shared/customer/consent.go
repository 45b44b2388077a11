package customer

import (
	"github.com/tierflow/tierflow/shared/model"
)

// Consents is the append-only record of consent decisions of one person. Nothing is
// overwritten: the record is what PIPL asks a business to be able to show.
type Consents []model.Consent

// Record appends a decision.
func (cs Consents) Record(c model.Consent) Consents { return append(cs, c) }

// Effective returns the decision in force for a purpose on a channel: the latest one;
// when two decisions carry the same time, the withdrawal wins, so a person who says
// "stop" is never contacted because of a tie.
func (cs Consents) Effective(cat model.Category, ch model.Channel) (model.Consent, bool) {
	var best model.Consent
	found := false
	for _, c := range cs {
		if c.Category != cat || c.Channel != ch {
			continue
		}
		switch {
		case !found, c.At.After(best.At):
			best, found = c, true
		case c.At.Equal(best.At) && !c.Granted:
			best = c
		}
	}
	return best, found
}

// Granted reports whether a message of cat may be sent on ch. No decision means no.
func (cs Consents) Granted(cat model.Category, ch model.Channel) bool {
	c, ok := cs.Effective(cat, ch)
	return ok && c.Granted
}

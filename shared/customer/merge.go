package customer

import (
	"fmt"

	"github.com/tierflow/tierflow/shared/model"
)

// NewProfile creates the profile for a lead nobody has seen before. id and referralCode
// come from the caller, which owns their uniqueness; referrerID is the customer the
// lead's referral code resolved to, if any.
func NewProfile(id, referralCode, referrerID string, l Lead, g Grading) Profile {
	at := l.Submission.At
	p := Profile{
		ID: id, Name: l.Name, Phone: l.Phone, Email: l.Email, Birthday: l.Birthday,
		TimeZone: l.TimeZone, Store: l.Store, Interest: l.Interest,
		ReferralCode: referralCode, Stage: model.StageLead,
		CreatedAt: at, UpdatedAt: at,
	}
	p.apply(l, g, referrerID)
	return p
}

// MergeResult says what a merge did, for the response and the audit log.
type MergeResult struct {
	Filled    []string // fields that were blank and now hold the lead's value
	Conflicts []string // fields where the lead disagreed with what we knew; kept ours
}

// Merge lands a second form from the same person on their profile: the touch is added,
// blanks are filled, consent decisions are recorded, and nothing known is overwritten —
// neither by a blank nor by a different value, which would let anyone who knows a phone
// number rename its owner. Disagreements are reported so staff can look.
func (p Profile) Merge(l Lead, g Grading, referrerID string) (Profile, MergeResult, error) {
	if p.Erased() {
		return p, MergeResult{}, fmt.Errorf("merge lead into %s: %w", p.ID, ErrErased)
	}
	var res MergeResult
	fill := func(field string, dst *string, v string) {
		switch {
		case v == "" || *dst == v:
		case *dst == "":
			*dst = v
			res.Filled = append(res.Filled, field)
		default:
			res.Conflicts = append(res.Conflicts, field)
		}
	}
	p.Tags = append([]string(nil), p.Tags...)
	p.Touches = append([]Touch(nil), p.Touches...)
	p.Consents = append(Consents(nil), p.Consents...)
	fill("name", &p.Name, l.Name)
	fill("phone", &p.Phone, l.Phone)
	fill("email", &p.Email, l.Email)
	fill("birthday", &p.Birthday, l.Birthday)
	fill("time_zone", &p.TimeZone, l.TimeZone)
	fill("store", &p.Store, l.Store)
	// What someone is interested in changes; the latest stated interest is the useful one.
	if l.Interest != "" {
		p.Interest = l.Interest
	}
	// A lead's grade only rises on a new touch: a second, vaguer form from a hot lead
	// must not make staff relax.
	if gradeRank(g.Grade) <= gradeRank(p.LeadGrade) {
		g = Grading{Grade: p.LeadGrade, Reason: p.GradeReason}
	}
	p.apply(l, g, referrerID)
	if l.Submission.At.After(p.UpdatedAt) {
		p.UpdatedAt = l.Submission.At
	}
	return p, res, nil
}

// apply records what every lead adds, new profile or not.
func (p *Profile) apply(l Lead, g Grading, referrerID string) {
	p.addTouch(Touch{
		At: l.Submission.At, Channel: l.Submission.Channel, UTM: l.UTM,
		ReferralCode: l.ReferralCode, Interest: l.Interest, Message: l.Message, Grade: g.Grade,
	})
	for _, c := range l.Consents {
		p.Consents = p.Consents.Record(c)
	}
	// First referrer wins: the reward goes to whoever brought the person in, and a
	// person cannot refer themselves.
	if p.ReferredBy == "" && referrerID != "" && referrerID != p.ID {
		p.ReferredBy = referrerID
	}
	if g.Grade != "" {
		p.LeadGrade, p.GradeReason = g.Grade, g.Reason
	}
}

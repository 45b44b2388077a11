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
		Touches: []Touch{TouchOf(l, g)},
	}
	p.Consents = append(p.Consents, l.Consents...)
	// Nobody refers themselves.
	if referrerID != "" && referrerID != id {
		p.ReferredBy = referrerID
	}
	if g.Grade != "" {
		p.LeadGrade, p.GradeReason = g.Grade, g.Reason
	}
	return p
}

// TouchOf is the timeline entry a lead leaves: when, how, from which campaign, what the
// person said, and the grade this form earned.
func TouchOf(l Lead, g Grading) Touch {
	return Touch{
		At: l.Submission.At, Channel: l.Submission.Channel, UTM: l.UTM,
		ReferralCode: l.ReferralCode, Interest: l.Interest, Message: l.Message, Grade: g.Grade,
	}
}

// Proposal is what a form said about a person we already know that differs from what is
// stored. It is kept on the form's touch for staff to read and, if they agree, apply
// through a staff edit; nothing applies it automatically, because anyone who knows a
// phone number can post a form in its owner's name.
type Proposal struct {
	Name     string `json:"name,omitempty" dynamodbav:"name,omitempty"`
	Phone    string `json:"phone,omitempty" dynamodbav:"phone,omitempty"`
	Email    string `json:"email,omitempty" dynamodbav:"email,omitempty"`
	Birthday string `json:"birthday,omitempty" dynamodbav:"birthday,omitempty"`
	TimeZone string `json:"timeZone,omitempty" dynamodbav:"timeZone,omitempty"`
	Store    string `json:"store,omitempty" dynamodbav:"store,omitempty"`
	Interest string `json:"interest,omitempty" dynamodbav:"interest,omitempty"`
	// Consents are the form's boxes that differ from the decision in force, grants and
	// withdrawals alike, as the form stated them (time, IP, text version).
	Consents []model.Consent `json:"consents,omitempty" dynamodbav:"consents,omitempty"`
}

// IsZero reports whether the form said nothing new.
func (p Proposal) IsZero() bool {
	return p.Name == "" && p.Phone == "" && p.Email == "" && p.Birthday == "" && p.TimeZone == "" &&
		p.Store == "" && p.Interest == "" && len(p.Consents) == 0
}

// KnownLead is what a form from a person we already know amounts to. The profile itself
// does not change: not its contacts, name, birthday, store, tags, grade or referrer, and
// not its consent — a form can neither grant nor withdraw for someone else.
type KnownLead struct {
	Proposal Proposal
	// Conflicts names the proposed fields that disagree with a value we hold (a blank we
	// hold is not a conflict: the proposal simply offers a value).
	Conflicts []string
	// Confirm are the grants the form asked for that the person does not have in force.
	// They take effect only when the person confirms them from a link sent to a contact
	// we already hold for them (double opt-in).
	Confirm []model.Consent
}

// Receive reads a form that landed on this (known) profile. It never changes p.
func (p Profile) Receive(l Lead) (KnownLead, error) {
	if p.Erased() {
		return KnownLead{}, fmt.Errorf("lead for %s: %w", p.ID, ErrErased)
	}
	var k KnownLead
	offer := func(field string, dst *string, held, said string) {
		if said == "" || said == held {
			return
		}
		*dst = said
		if held != "" {
			k.Conflicts = append(k.Conflicts, field)
		}
	}
	offer("name", &k.Proposal.Name, p.Name, l.Name)
	offer("phone", &k.Proposal.Phone, p.Phone, l.Phone)
	offer("email", &k.Proposal.Email, p.Email, l.Email)
	offer("birthday", &k.Proposal.Birthday, p.Birthday, l.Birthday)
	offer("time_zone", &k.Proposal.TimeZone, p.TimeZone, l.TimeZone)
	offer("store", &k.Proposal.Store, p.Store, l.Store)
	// Interest changes over time and is not a conflict; staff see the latest on the touch.
	if l.Interest != "" && l.Interest != p.Interest {
		k.Proposal.Interest = l.Interest
	}
	for _, c := range l.Consents {
		if p.Consents.Granted(c.Category, c.Channel) == c.Granted {
			continue
		}
		k.Proposal.Consents = append(k.Proposal.Consents, c)
		if c.Granted {
			k.Confirm = append(k.Confirm, c)
		}
	}
	return k, nil
}

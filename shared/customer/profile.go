package customer

import (
	"slices"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// UTM is the campaign a touch came from.
type UTM struct {
	Source   string `json:"source,omitempty" dynamodbav:"source,omitempty"`
	Medium   string `json:"medium,omitempty" dynamodbav:"medium,omitempty"`
	Campaign string `json:"campaign,omitempty" dynamodbav:"campaign,omitempty"`
	Term     string `json:"term,omitempty" dynamodbav:"term,omitempty"`
	Content  string `json:"content,omitempty" dynamodbav:"content,omitempty"`
}

// Touch is one time the person reached out: a form, a referral, an import.
type Touch struct {
	At           time.Time       `json:"at" dynamodbav:"at"`
	Channel      string          `json:"channel" dynamodbav:"channel"` // "form", "api", "import"
	UTM          UTM             `json:"utm" dynamodbav:"utm"`
	ReferralCode string          `json:"referralCode,omitempty" dynamodbav:"referralCode,omitempty"`
	Interest     string          `json:"interest,omitempty" dynamodbav:"interest,omitempty"`
	Message      string          `json:"message,omitempty" dynamodbav:"message,omitempty"` // free text: erased with the person
	Grade        model.LeadGrade `json:"grade,omitempty" dynamodbav:"grade,omitempty"`
}

// Profile is a customer's record (客户档案). The sensitive section is not part of it: it
// is stored sealed, apart, and only clinicians and admins ever see it.
type Profile struct {
	ID       string `json:"id" dynamodbav:"id"`
	Name     string `json:"name,omitempty" dynamodbav:"name,omitempty"`
	Phone    string `json:"phone,omitempty" dynamodbav:"phone,omitempty"`       // E.164
	Email    string `json:"email,omitempty" dynamodbav:"email,omitempty"`       // lower case
	Birthday string `json:"birthday,omitempty" dynamodbav:"birthday,omitempty"` // YYYY-MM-DD
	// BirthdayLunar: the customer celebrates the lunar anniversary of Birthday (农历生日);
	// the greeting follows the lunar calendar (followup.BirthdayFrom).
	BirthdayLunar bool     `json:"birthdayLunar,omitempty" dynamodbav:"birthdayLunar,omitempty"`
	TimeZone      string   `json:"timeZone,omitempty" dynamodbav:"timeZone,omitempty"` // IANA
	Store         string   `json:"store,omitempty" dynamodbav:"store,omitempty"`
	Tags          []string `json:"tags,omitempty" dynamodbav:"tags,omitempty"`
	Interest      string   `json:"interest,omitempty" dynamodbav:"interest,omitempty"`

	// Touches holds the acquisition touch, the one a new customer is attributed to.
	// Later forms are timeline items of their own and never rewrite the profile.
	Touches      []Touch  `json:"touches,omitempty" dynamodbav:"touches,omitempty"`
	ReferralCode string   `json:"referralCode,omitempty" dynamodbav:"referralCode,omitempty"` // this customer's own code
	ReferredBy   string   `json:"referredBy,omitempty" dynamodbav:"referredBy,omitempty"`     // the referrer's customer id
	Consents     Consents `json:"consents,omitempty" dynamodbav:"consents,omitempty"`

	LeadGrade   model.LeadGrade `json:"leadGrade,omitempty" dynamodbav:"leadGrade,omitempty"`
	GradeReason string          `json:"gradeReason,omitempty" dynamodbav:"gradeReason,omitempty"`
	// Tier and Stage are written by the tiering job, never by a form or a staff PATCH.
	Tier  model.Tier  `json:"tier,omitempty" dynamodbav:"tier,omitempty"`
	Stage model.Stage `json:"stage,omitempty" dynamodbav:"stage,omitempty"`

	CreatedAt time.Time  `json:"createdAt" dynamodbav:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt" dynamodbav:"updatedAt"`
	ErasedAt  *time.Time `json:"erasedAt,omitempty" dynamodbav:"erasedAt,omitempty"`
}

// Sensitive is the clinical section: medical history, allergies, psychological
// assessment. It travels sealed (shared/seal) and is read only by roles that
// CanReadSensitive.
type Sensitive struct {
	MedicalHistory          string    `json:"medicalHistory,omitempty"`
	Allergies               string    `json:"allergies,omitempty"`
	PsychologicalAssessment string    `json:"psychologicalAssessment,omitempty"`
	UpdatedAt               time.Time `json:"updatedAt,omitzero"`
	UpdatedBy               string    `json:"updatedBy,omitempty"`
}

// IsZero reports whether the section holds nothing.
func (s Sensitive) IsZero() bool {
	return s.MedicalHistory == "" && s.Allergies == "" && s.PsychologicalAssessment == ""
}

// Erased reports whether the person's data was erased.
func (p Profile) Erased() bool { return p.ErasedAt != nil }

// DedupeKeys are the identities that make two submissions the same person: the
// normalised phone and the lower-cased e-mail. The store holds one uniqueness item per
// key, written conditionally, which is what keeps concurrent forms from making twins.
func (p Profile) DedupeKeys() []string { return dedupeKeys(p.Phone, p.Email) }

func dedupeKeys(phone, email string) []string {
	var keys []string
	if phone != "" {
		keys = append(keys, "phone#"+phone)
	}
	if email != "" {
		keys = append(keys, "email#"+email)
	}
	return keys
}

func (p *Profile) addTags(tags ...string) {
	for _, t := range tags {
		if t != "" && !slices.Contains(p.Tags, t) {
			p.Tags = append(p.Tags, t)
		}
	}
}

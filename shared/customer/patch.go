package customer

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

var (
	everyone   = []model.Role{model.RoleAdmin, model.RoleClinician, model.RoleAgent}
	clinicians = []model.Role{model.RoleAdmin, model.RoleClinician}
	admins     = []model.Role{model.RoleAdmin}
)

// patchable lists, per field of a PATCH body, the roles that may set it. Anything not
// listed is refused: this table is the whole defence against mass assignment.
var patchable = map[string][]model.Role{
	"name": everyone, "phone": everyone, "email": everyone, "birthday": everyone, "birthdayLunar": everyone,
	"timeZone": everyone, "tags": everyone, "interest": everyone,
	// Moving a customer to another store moves them out of agents' sight.
	"store":          admins,
	"medicalHistory": clinicians, "allergies": clinicians, "psychologicalAssessment": clinicians,
}

// readOnly fields are part of the profile but set by the system: tiers by policy, grades
// by the lead rules, consent only by the person through a recorded channel.
var readOnly = []string{
	"id", "referralCode", "referredBy", "consents", "touches", "leadGrade", "gradeReason",
	"tier", "stage", "createdAt", "updatedAt", "erasedAt",
}

// SensitiveFields are the PATCH fields of the sealed section.
var SensitiveFields = []string{"medicalHistory", "allergies", "psychologicalAssessment"}

const (
	maxTag       = 50
	maxTags      = 30
	maxSensitive = 10000
)

// Edit is a staff PATCH after it was checked.
type Edit struct {
	Profile   Profile
	Sensitive Sensitive
	Changed   []string // field names whose value changed, for the audit log
}

// ApplyPatch applies a staff PATCH body (a JSON object). Every field is checked against
// role before any is applied, and all faults are reported together; null or "" clears
// an optional field. Phone and e-mail go through the same normalisation as a form, and
// a profile is never left without either.
func (r Rules) ApplyPatch(p Profile, s Sensitive, role model.Role, body map[string]json.RawMessage, by string, at time.Time) (Edit, error) {
	var errs FieldErrors
	if p.Erased() {
		return Edit{}, ErrErased
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		roles, ok := patchable[k]
		switch {
		case slices.Contains(readOnly, k):
			errs.add(k, "is read-only")
		case !ok:
			errs.add(k, "is not a known field")
		case !slices.Contains(roles, role):
			errs.add(k, "may not be changed by the "+string(role)+" role")
		}
	}
	if len(errs) > 0 {
		return Edit{}, errs
	}

	next, nextS := p, s
	next.Tags = slices.Clone(p.Tags)
	str := func(k string) (string, bool) {
		raw, ok := body[k]
		if !ok {
			return "", false
		}
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return "", true
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			errs.add(k, "must be a string or null")
			return "", false
		}
		return v, true
	}
	setText := func(k string, dst *string, max int) {
		if v, ok := str(k); ok {
			if c, err := cleanText(v, max); err != nil {
				errs.add(k, err.Error())
			} else {
				*dst = c
			}
		}
	}
	setText("name", &next.Name, maxName)
	setText("interest", &next.Interest, maxInterest)
	if v, ok := str("phone"); ok {
		if ph, err := NormalizePhone(v, r.DefaultRegion); err != nil {
			errs.add("phone", reason(err))
		} else {
			next.Phone = ph
		}
	}
	if v, ok := str("email"); ok {
		if e, err := NormalizeEmail(v); err != nil {
			errs.add("email", err.Error())
		} else {
			next.Email = e
		}
	}
	if v, ok := str("birthday"); ok {
		if b, err := ParseBirthday(v, at); err != nil {
			errs.add("birthday", err.Error())
		} else {
			next.Birthday = b
		}
	}
	if raw, ok := body["birthdayLunar"]; ok {
		var lunar *bool
		if err := json.Unmarshal(raw, &lunar); err != nil {
			errs.add("birthdayLunar", "must be true, false or null")
		} else {
			next.BirthdayLunar = lunar != nil && *lunar
		}
	}
	if v, ok := str("timeZone"); ok {
		if err := ValidTimeZone(strings.TrimSpace(v)); err != nil {
			errs.add("timeZone", err.Error())
		} else {
			next.TimeZone = strings.TrimSpace(v)
		}
	}
	if v, ok := str("store"); ok {
		st := strings.TrimSpace(v)
		if st == "" || (len(r.Stores) > 0 && !slices.Contains(r.Stores, st)) {
			errs.add("store", "is not a known store")
		} else {
			next.Store = st
		}
	}
	if raw, ok := body["tags"]; ok {
		var tags []string
		if err := json.Unmarshal(raw, &tags); err != nil {
			errs.add("tags", "must be a list of strings")
		} else if len(tags) > maxTags {
			errs.add("tags", "has too many tags")
		} else {
			next.Tags = nil
			for _, t := range tags {
				c, err := cleanText(t, maxTag)
				if err != nil {
					errs.add("tags", err.Error())
					break
				}
				next.addTags(c)
			}
		}
	}
	for k, dst := range map[string]*string{
		"medicalHistory": &nextS.MedicalHistory, "allergies": &nextS.Allergies,
		"psychologicalAssessment": &nextS.PsychologicalAssessment,
	} {
		if v, ok := str(k); ok {
			if c, err := cleanMultiline(v, maxSensitive); err != nil {
				errs.add(k, err.Error())
			} else {
				*dst = c
			}
		}
	}
	if next.Phone == "" && next.Email == "" {
		for _, k := range []string{"phone", "email"} {
			if _, ok := body[k]; ok && !errs.Has(k) {
				errs.add(k, "a customer needs a phone number or an e-mail address")
			}
		}
	}
	if len(errs) > 0 {
		return Edit{}, errs
	}

	e := Edit{Profile: next, Sensitive: nextS}
	for _, c := range []struct {
		k    string
		a, b string
	}{
		{"name", p.Name, next.Name}, {"phone", p.Phone, next.Phone}, {"email", p.Email, next.Email},
		{"birthday", p.Birthday, next.Birthday}, {"timeZone", p.TimeZone, next.TimeZone},
		{"birthdayLunar", strconv.FormatBool(p.BirthdayLunar), strconv.FormatBool(next.BirthdayLunar)},
		{"store", p.Store, next.Store}, {"interest", p.Interest, next.Interest},
		{"tags", strings.Join(p.Tags, "\x00"), strings.Join(next.Tags, "\x00")},
		{"medicalHistory", s.MedicalHistory, nextS.MedicalHistory},
		{"allergies", s.Allergies, nextS.Allergies},
		{"psychologicalAssessment", s.PsychologicalAssessment, nextS.PsychologicalAssessment},
	} {
		if c.a != c.b {
			e.Changed = append(e.Changed, c.k)
		}
	}
	if len(e.Changed) > 0 {
		e.Profile.UpdatedAt = at
	}
	if slices.ContainsFunc(e.Changed, func(f string) bool { return slices.Contains(SensitiveFields, f) }) {
		e.Sensitive.UpdatedAt, e.Sensitive.UpdatedBy = at, by
	}
	return e, nil
}

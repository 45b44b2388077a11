package customer

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// Checkbox is a consent box as a form or a script sends it. Unset (an unticked HTML box
// sends nothing) changes nothing; an explicit "no"/false records a withdrawal.
type Checkbox struct {
	Set   bool
	Value bool
}

// UnmarshalJSON accepts true/false and the strings a form would send.
func (c *Checkbox) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*c = Checkbox{}
		return nil
	}
	var v bool
	if err := json.Unmarshal(b, &v); err == nil {
		*c = Checkbox{Set: true, Value: v}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("consent must be true or false")
	}
	return c.parse(s)
}

// MarshalJSON writes null when unset.
func (c Checkbox) MarshalJSON() ([]byte, error) {
	if !c.Set {
		return []byte("null"), nil
	}
	return json.Marshal(c.Value)
}

func (c *Checkbox) parse(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		*c = Checkbox{}
	case "on", "true", "1", "yes", "y":
		*c = Checkbox{Set: true, Value: true}
	case "off", "false", "0", "no", "n":
		*c = Checkbox{Set: true, Value: false}
	default:
		return fmt.Errorf("must be true or false")
	}
	return nil
}

// LeadForm is a lead exactly as submitted, by a plain HTML form or by a script. The
// field names are the form's input names.
type LeadForm struct {
	Name                  string   `json:"name"`
	Phone                 string   `json:"phone"`
	Email                 string   `json:"email"`
	Store                 string   `json:"store"`
	Interest              string   `json:"interest"`
	Message               string   `json:"message"`
	Birthday              string   `json:"birthday"`
	TimeZone              string   `json:"time_zone"`
	UTMSource             string   `json:"utm_source"`
	UTMMedium             string   `json:"utm_medium"`
	UTMCampaign           string   `json:"utm_campaign"`
	UTMTerm               string   `json:"utm_term"`
	UTMContent            string   `json:"utm_content"`
	ReferralCode          string   `json:"referral_code"`
	ConsentService        Checkbox `json:"consent_service"`
	ConsentMarketingSMS   Checkbox `json:"consent_marketing_sms"`
	ConsentMarketingEmail Checkbox `json:"consent_marketing_email"`
	ConsentTextVersion    string   `json:"consent_text_version"`
	Redirect              string   `json:"redirect"`
	// Website is the honeypot: hidden from people by the page's CSS, filled by bots.
	Website string `json:"website"`
}

// HoneypotField is the input name of the honeypot.
const HoneypotField = "website"

// FormFromValues reads an application/x-www-form-urlencoded post. Unknown inputs are
// refused, as in JSON, so both ways in accept the same fields. When a name repeats the
// last value wins: that is how the "hidden no + checkbox yes" idiom for checkboxes works.
func FormFromValues(v url.Values) (LeadForm, error) {
	var f LeadForm
	var errs FieldErrors
	text := map[string]*string{
		"name": &f.Name, "phone": &f.Phone, "email": &f.Email, "store": &f.Store,
		"interest": &f.Interest, "message": &f.Message, "birthday": &f.Birthday,
		"time_zone": &f.TimeZone, "utm_source": &f.UTMSource, "utm_medium": &f.UTMMedium,
		"utm_campaign": &f.UTMCampaign, "utm_term": &f.UTMTerm, "utm_content": &f.UTMContent,
		"referral_code": &f.ReferralCode, "consent_text_version": &f.ConsentTextVersion,
		"redirect": &f.Redirect, HoneypotField: &f.Website,
	}
	boxes := map[string]*Checkbox{
		"consent_service": &f.ConsentService, "consent_marketing_sms": &f.ConsentMarketingSMS,
		"consent_marketing_email": &f.ConsentMarketingEmail,
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys) // stable error order
	for _, k := range keys {
		vals := v[k]
		last := vals[len(vals)-1]
		switch {
		case text[k] != nil:
			*text[k] = last
		case boxes[k] != nil:
			if err := boxes[k].parse(last); err != nil {
				errs.add(k, err.Error())
			}
		case k == "ref":
			f.ReferralCode = last // the short name links in share messages use
		default:
			errs.add(k, "is not a known field")
		}
	}
	return f, errs.err()
}

// Submission is what the edge knows about how a form arrived.
type Submission struct {
	At      time.Time
	IP      string
	Channel string // "form" or "api"
}

// Limits on field length, in characters. Generous for people, tight for abuse.
const (
	maxName     = 100
	maxPhoneRaw = 32
	maxEmail    = 254
	maxStore    = 64
	maxInterest = 100
	maxMessage  = 2000
	maxUTM      = 200
	maxVersion  = 32
	maxRedirect = 2048
)

// Rules are the configuration lead validation depends on.
type Rules struct {
	DefaultRegion string   // phone region for numbers without a country code, e.g. "CN"
	Stores        []string // known store ids; empty accepts any
	DefaultStore  string   // used when the form names none
}

// Lead is a validated, normalised form.
type Lead struct {
	Name, Phone, Email, Store, Interest, Message, Birthday, TimeZone string
	UTM                                                              UTM
	ReferralCode                                                     string
	Consents                                                         []model.Consent
	Redirect                                                         string
	Submission                                                       Submission
}

// DedupeKeys are the identities under which the lead must land on an existing profile.
func (l Lead) DedupeKeys() []string { return dedupeKeys(l.Phone, l.Email) }

// Validate checks and normalises a form, returning every field at fault at once, or
// ErrSpam when the honeypot is filled (checked first: a bot gets no hint about fields).
func (r Rules) Validate(f LeadForm, s Submission) (Lead, error) {
	if strings.TrimSpace(f.Website) != "" {
		return Lead{}, ErrSpam
	}
	var errs FieldErrors
	l := Lead{Submission: s, Redirect: strings.TrimSpace(f.Redirect)}

	text := func(field, v string, max int) string {
		out, err := cleanText(v, max)
		if err != nil {
			errs.add(field, err.Error())
		}
		return out
	}
	l.Name = text("name", f.Name, maxName)
	l.Interest = text("interest", f.Interest, maxInterest)
	l.UTM = UTM{
		Source:   strings.ToLower(text("utm_source", f.UTMSource, maxUTM)),
		Medium:   strings.ToLower(text("utm_medium", f.UTMMedium, maxUTM)),
		Campaign: text("utm_campaign", f.UTMCampaign, maxUTM),
		Term:     text("utm_term", f.UTMTerm, maxUTM),
		Content:  text("utm_content", f.UTMContent, maxUTM),
	}
	version := text("consent_text_version", f.ConsentTextVersion, maxVersion)
	if msg, err := cleanMultiline(f.Message, maxMessage); err != nil {
		errs.add("message", err.Error())
	} else {
		l.Message = msg
	}
	if len(l.Redirect) > maxRedirect {
		errs.add("redirect", fmt.Sprintf("must be at most %d characters", maxRedirect))
	}

	switch phone := strings.TrimSpace(f.Phone); {
	case len(phone) > maxPhoneRaw:
		errs.add("phone", fmt.Sprintf("must be at most %d characters", maxPhoneRaw))
	default:
		p, err := NormalizePhone(phone, r.DefaultRegion)
		if err != nil {
			errs.add("phone", reason(err))
		}
		l.Phone = p
	}
	if len(f.Email) > maxEmail {
		errs.add("email", fmt.Sprintf("must be at most %d characters", maxEmail))
	} else if e, err := NormalizeEmail(f.Email); err != nil {
		errs.add("email", err.Error())
	} else {
		l.Email = e
	}
	if strings.TrimSpace(f.Phone) == "" && strings.TrimSpace(f.Email) == "" {
		errs.add("phone", "a phone number or an e-mail address is required")
		errs.add("email", "a phone number or an e-mail address is required")
	}

	if b, err := ParseBirthday(f.Birthday, s.At); err != nil {
		errs.add("birthday", err.Error())
	} else {
		l.Birthday = b
	}
	l.TimeZone = strings.TrimSpace(f.TimeZone)
	if err := ValidTimeZone(l.TimeZone); err != nil {
		errs.add("time_zone", err.Error())
	}

	l.Store = text("store", f.Store, maxStore)
	if l.Store == "" {
		l.Store = r.DefaultStore
	}
	if l.Store != "" && len(r.Stores) > 0 && !slices.Contains(r.Stores, l.Store) {
		errs.add("store", "is not a known store")
	}

	if code := strings.TrimSpace(f.ReferralCode); code != "" {
		c, err := NormalizeReferralCode(code)
		if err != nil {
			errs.add("referral_code", err.Error())
		}
		l.ReferralCode = c
	}

	l.Consents = r.consents(f, l, version, &errs)
	if len(errs) > 0 {
		return Lead{}, errs
	}
	return l, nil
}

// consents turns the boxes into records. Service consent covers the channels the person
// gave us; marketing is asked per channel, as the seeds' complaint figures demand.
func (r Rules) consents(f LeadForm, l Lead, version string, errs *FieldErrors) []model.Consent {
	type box struct {
		field string
		cb    Checkbox
		cat   model.Category
		chans []model.Channel
	}
	var service []model.Channel
	if l.Phone != "" {
		service = append(service, model.ChannelSMS)
	}
	if l.Email != "" {
		service = append(service, model.ChannelEmail)
	}
	boxes := []box{
		{"consent_service", f.ConsentService, model.CategoryService, service},
		{"consent_marketing_sms", f.ConsentMarketingSMS, model.CategoryMarketing, []model.Channel{model.ChannelSMS}},
		{"consent_marketing_email", f.ConsentMarketingEmail, model.CategoryMarketing, []model.Channel{model.ChannelEmail}},
	}
	var out []model.Consent
	needVersion := false
	for _, b := range boxes {
		if !b.cb.Set {
			continue
		}
		if b.cb.Value {
			needVersion = true
			if b.field == "consent_marketing_sms" && l.Phone == "" {
				errs.add(b.field, "needs a phone number")
				continue
			}
			if b.field == "consent_marketing_email" && l.Email == "" {
				errs.add(b.field, "needs an e-mail address")
				continue
			}
		}
		for _, ch := range b.chans {
			out = append(out, model.Consent{
				Category: b.cat, Channel: ch, Granted: b.cb.Value, At: l.Submission.At,
				Source: "lead:" + l.Submission.Channel, IP: l.Submission.IP, TextVersion: version,
			})
		}
	}
	// A consent nobody can show the wording of is not consent.
	if needVersion && version == "" {
		errs.add("consent_text_version", "is required when consent is given")
	}
	return out
}

// reason strips library detail from an error for a person to read.
func reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, errPhoneChars):
		return errPhoneChars.Error()
	case errors.Is(err, errPhoneInvalid):
		return errPhoneInvalid.Error()
	}
	return err.Error()
}

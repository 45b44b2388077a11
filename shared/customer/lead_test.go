package customer_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/model"
)

var (
	shanghai = func() *time.Location {
		l, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			panic(err) // no zone database: every opening-hours rule below would be wrong
		}
		return l
	}()
	// A Tuesday, 10:00 in Shanghai: inside default opening hours.
	morning = time.Date(2025, 3, 4, 10, 0, 0, 0, shanghai)
	rules   = customer.Rules{DefaultRegion: "CN", Stores: []string{"sh-01", "bj-01"}, DefaultStore: "sh-01"}
	sub     = customer.Submission{At: morning, IP: "203.0.113.9", Channel: "form"}
)

func TestPhoneNormalisation(t *testing.T) {
	cases := []struct {
		name, raw, want string
		bad             bool
	}{
		{"a national CN mobile with spaces is read in the default region", "138 0013 8000", "+8613800138000", false},
		{"the same number with country code and dashes is the same", "+86 138-0013-8000", "+8613800138000", false},
		{"00 international prefix is understood", "0086 13800138000", "+8613800138000", false},
		{"full-width digits from a Chinese input method are read", "１３８００１３８０００", "+8613800138000", false},
		{"a foreign number keeps its country", "+44 7911 123456", "+447911123456", false},
		{"letters are refused", "+86 abc", "", true},
		{"vanity letters are refused, not converted", "1-800-FLOWERS", "", true},
		{"too few digits is not a number", "12345", "", true},
		{"a CN number with a wrong prefix is invalid", "+86 100 0000 0000", "", true},
		{"blank is no phone, not an error", "  ", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := customer.NormalizePhone(tc.raw, "CN")
			if (err != nil) != tc.bad || got != tc.want {
				t.Errorf("NormalizePhone(%q) = %q, %v; want %q, error=%v", tc.raw, got, err, tc.want, tc.bad)
			}
		})
	}
}

func TestEmailNormalisation(t *testing.T) {
	cases := []struct {
		name, raw, want string
		bad             bool
	}{
		{"an address is lower-cased", " Wang.Fang@Example.COM ", "wang.fang@example.com", false},
		{"a QQ address of digits is fine", "12345678@qq.com", "12345678@qq.com", false},
		{"no at sign is refused", "wang.example.com", "", true},
		{"a display name is refused", "Wang <wang@example.com>", "", true},
		{"a domain without a dot is refused", "wang@localhost", "", true},
		{"two at signs are refused", "a@b@example.com", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := customer.NormalizeEmail(tc.raw)
			if (err != nil) != tc.bad || got != tc.want {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, error=%v", tc.raw, got, err, tc.want, tc.bad)
			}
		})
	}
}

func TestLeadValidation(t *testing.T) {
	ok := customer.LeadForm{Name: "  王  芳 ", Phone: "138 0013 8000", Interest: "玻尿酸"}
	with := func(f func(*customer.LeadForm)) customer.LeadForm { c := ok; f(&c); return c }
	cases := []struct {
		name   string
		form   customer.LeadForm
		fields []string // fields expected at fault; nil means valid
	}{
		{"a form with a phone only is a lead", ok, nil},
		{"a form with an email only is a lead", customer.LeadForm{Email: "a@example.com"}, nil},
		{"neither phone nor email names both fields", customer.LeadForm{Name: "Li"}, []string{"phone", "email"}},
		{"+86 abc is a clear phone error", with(func(f *customer.LeadForm) { f.Phone = "+86 abc" }), []string{"phone"}},
		{"a bad email is named even when the phone is fine", with(func(f *customer.LeadForm) { f.Email = "nope" }), []string{"email"}},
		{"an over-long name is refused", with(func(f *customer.LeadForm) { f.Name = strings.Repeat("名", 101) }), []string{"name"}},
		{"an over-long message is refused", with(func(f *customer.LeadForm) { f.Message = strings.Repeat("x", 2001) }), []string{"message"}},
		{"a control character in a name is refused", with(func(f *customer.LeadForm) { f.Name = "Li\x07" }), []string{"name"}},
		{"an unknown store is refused", with(func(f *customer.LeadForm) { f.Store = "gz-99" }), []string{"store"}},
		{"a time zone must be IANA", with(func(f *customer.LeadForm) { f.TimeZone = "GMT+8 Beijing" }), []string{"time_zone"}},
		{"a birthday in the future is refused", with(func(f *customer.LeadForm) { f.Birthday = "2030-01-01" }), []string{"birthday"}},
		{"a birthday must be a date", with(func(f *customer.LeadForm) { f.Birthday = "1990-02-30" }), []string{"birthday"}},
		{"a referral code with look-alike letters is refused", with(func(f *customer.LeadForm) { f.ReferralCode = "OIL0-1234" }), []string{"referral_code"}},
		{"consent without the text version is refused", with(func(f *customer.LeadForm) { f.ConsentService = customer.Checkbox{Set: true, Value: true} }), []string{"consent_text_version"}},
		{"email marketing consent without an email is refused", with(func(f *customer.LeadForm) {
			f.ConsentMarketingEmail = customer.Checkbox{Set: true, Value: true}
			f.ConsentTextVersion = "v3"
		}), []string{"consent_marketing_email"}},
		{"several faults are reported together", customer.LeadForm{Phone: "+86 abc", Email: "x", Store: "nowhere"}, []string{"phone", "email", "store"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := rules.Validate(tc.form, sub)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var fe customer.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("want field errors %v, got %v (lead %+v)", tc.fields, err, l)
			}
			if len(fe) != len(tc.fields) {
				t.Errorf("fields at fault = %v, want %v", fe, tc.fields)
			}
			for _, f := range tc.fields {
				if !fe.Has(f) {
					t.Errorf("%q not named among %v", f, fe)
				}
			}
		})
	}
}

func TestValidLeadIsNormalised(t *testing.T) {
	l, err := rules.Validate(customer.LeadForm{
		Name: " 王  芳 ", Phone: "138 0013 8000", Email: "Wang@Example.com", UTMSource: "Google",
		ReferralCode: "abcd-efgh", TimeZone: "Asia/Shanghai",
	}, sub)
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "王 芳" || l.Phone != "+8613800138000" || l.Email != "wang@example.com" ||
		l.UTM.Source != "google" || l.ReferralCode != "ABCDEFGH" || l.Store != "sh-01" {
		t.Errorf("lead not normalised: %+v", l)
	}
	keys := l.DedupeKeys()
	if len(keys) != 2 || keys[0] != "phone#+8613800138000" || keys[1] != "email#wang@example.com" {
		t.Errorf("dedupe keys %v", keys)
	}
}

func TestAFilledHoneypotIsSpam(t *testing.T) {
	_, err := rules.Validate(customer.LeadForm{Phone: "+86 abc", Website: "http://spam.example"}, sub)
	if !errors.Is(err, customer.ErrSpam) {
		t.Fatalf("want ErrSpam before any field check, got %v", err)
	}
}

func TestConsentFromCheckboxes(t *testing.T) {
	yes := customer.Checkbox{Set: true, Value: true}
	no := customer.Checkbox{Set: true, Value: false}
	cases := []struct {
		name    string
		form    customer.LeadForm
		granted map[[2]string]bool // category/channel → effective decision; absent = no record
	}{
		{"service consent covers the channels given", customer.LeadForm{Phone: "13800138000", Email: "a@example.com", ConsentService: yes, ConsentTextVersion: "v3"},
			map[[2]string]bool{{"service", "sms"}: true, {"service", "email"}: true}},
		{"marketing is per channel", customer.LeadForm{Phone: "13800138000", Email: "a@example.com", ConsentMarketingSMS: yes, ConsentTextVersion: "v3"},
			map[[2]string]bool{{"marketing", "sms"}: true}},
		{"an explicit no is recorded as a withdrawal", customer.LeadForm{Email: "a@example.com", ConsentMarketingEmail: no},
			map[[2]string]bool{{"marketing", "email"}: false}},
		{"an unticked box records nothing", customer.LeadForm{Email: "a@example.com"}, map[[2]string]bool{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := rules.Validate(tc.form, sub)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Consents) != len(tc.granted) {
				t.Fatalf("consents %+v, want %d records", l.Consents, len(tc.granted))
			}
			for _, c := range l.Consents {
				want, ok := tc.granted[[2]string{string(c.Category), string(c.Channel)}]
				if !ok || c.Granted != want {
					t.Errorf("unexpected consent %+v", c)
				}
				if !c.At.Equal(morning) || c.IP != "203.0.113.9" || c.Source != "lead:form" {
					t.Errorf("consent lacks time/IP/source: %+v", c)
				}
				if c.Granted && c.TextVersion != "v3" {
					t.Errorf("consent lacks text version: %+v", c)
				}
			}
		})
	}
}

func TestFormAndJSONAcceptTheSameFields(t *testing.T) {
	vals := url.Values{
		"name": {"Li"}, "phone": {"13800138000"}, "consent_marketing_sms": {"no", "on"},
		"consent_text_version": {"v3"}, "ref": {"abcdefgh"},
	}
	f, err := customer.FormFromValues(vals)
	if err != nil {
		t.Fatal(err)
	}
	if !f.ConsentMarketingSMS.Set || !f.ConsentMarketingSMS.Value {
		t.Errorf("hidden no followed by a ticked box must read as yes: %+v", f.ConsentMarketingSMS)
	}
	if f.ReferralCode != "abcdefgh" {
		t.Errorf("ref link parameter not read: %q", f.ReferralCode)
	}
	_, err = customer.FormFromValues(url.Values{"phone": {"1"}, "role": {"admin"}})
	var fe customer.FieldErrors
	if !errors.As(err, &fe) || !fe.Has("role") {
		t.Errorf("an unknown form field must be named, got %v", err)
	}
	_, err = customer.FormFromValues(url.Values{"consent_service": {"maybe"}})
	if !errors.As(err, &fe) || !fe.Has("consent_service") {
		t.Errorf("a checkbox value that is not yes/no must be named, got %v", err)
	}

	var j customer.LeadForm
	if err := json.Unmarshal([]byte(`{"phone":"1","consent_service":true,"consent_marketing_sms":"on","consent_marketing_email":false}`), &j); err != nil {
		t.Fatal(err)
	}
	if !j.ConsentService.Value || !j.ConsentMarketingSMS.Value || !j.ConsentMarketingEmail.Set || j.ConsentMarketingEmail.Value {
		t.Errorf("JSON checkboxes: %+v", j)
	}
}

func TestConsentLatestWinsAndWithdrawalWinsTies(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2025, 1, 1, h, 0, 0, 0, time.UTC) }
	c := func(h int, g bool) model.Consent {
		return model.Consent{Category: model.CategoryMarketing, Channel: model.ChannelSMS, Granted: g, At: at(h)}
	}
	cases := []struct {
		name string
		log  customer.Consents
		want bool
	}{
		{"no decision means no", nil, false},
		{"a grant is in force", customer.Consents{c(1, true)}, true},
		{"a later withdrawal wins", customer.Consents{c(1, true), c(2, false)}, false},
		{"a later grant after a withdrawal wins", customer.Consents{c(1, false), c(2, true)}, true},
		{"order of recording does not matter, time does", customer.Consents{c(2, false), c(1, true)}, false},
		{"at the same instant the withdrawal wins", customer.Consents{c(1, true), c(1, false), c(1, true)}, false},
		{"another channel's grant does not count", customer.Consents{{Category: model.CategoryMarketing, Channel: model.ChannelEmail, Granted: true, At: at(1)}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.log.Granted(model.CategoryMarketing, model.ChannelSMS); got != tc.want {
				t.Errorf("Granted = %v, want %v", got, tc.want)
			}
		})
	}
}

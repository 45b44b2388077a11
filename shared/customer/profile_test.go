package customer_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/model"
)

func mustLead(t *testing.T, f customer.LeadForm, at time.Time) customer.Lead {
	t.Helper()
	l, err := rules.Validate(f, customer.Submission{At: at, IP: "203.0.113.9", Channel: "form"})
	if err != nil {
		t.Fatalf("validate %+v: %v", f, err)
	}
	return l
}

// A form that lands on a known person changes nothing stored: the profile is what staff
// and the person themselves built, and anyone who knows a phone number can post a form.
// What the form said differently is a proposal for staff; grants wait for the person's
// own confirmation.
func TestAKnownPersonsFormProposesButChangesNothing(t *testing.T) {
	first := mustLead(t, customer.LeadForm{Name: "王芳", Phone: "138 0013 8000", Interest: "玻尿酸", UTMSource: "baidu",
		ConsentService: customer.Checkbox{Set: true, Value: true}, ConsentTextVersion: "2025-01"}, morning)
	base := customer.NewProfile("c1", "ABCDEFGH", "", first, customer.DefaultGradePolicy().Grade(first))
	base.Consents = base.Consents.Record(model.Consent{Category: model.CategoryMarketing, Channel: model.ChannelEmail, Granted: true, At: morning, Source: "lead:form"})
	later := morning.Add(48 * time.Hour)
	yes, no := customer.Checkbox{Set: true, Value: true}, customer.Checkbox{Set: true, Value: false}

	cases := []struct {
		name      string
		second    customer.LeadForm
		proposal  customer.Proposal // consents compared by category/channel/granted only
		conflicts []string
		confirm   []string // category:channel of the grants awaiting double opt-in
	}{
		{"the same phone in another format says nothing new",
			customer.LeadForm{Phone: "+86 13800138000", UTMSource: "wechat"}, customer.Proposal{}, nil, nil},
		{"blanks on the form propose nothing",
			customer.LeadForm{Phone: "13800138000", Name: "", Interest: ""}, customer.Proposal{}, nil, nil},
		{"a value for a blank we hold is proposed, not filled, and is no conflict",
			customer.LeadForm{Phone: "13800138000", Email: "Wang@Example.com", Birthday: "1990-05-01"},
			customer.Proposal{Email: "wang@example.com", Birthday: "1990-05-01"}, nil, nil},
		{"a different name is proposed and named as a conflict",
			customer.LeadForm{Phone: "13800138000", Name: "Somebody Else"},
			customer.Proposal{Name: "Somebody Else"}, []string{"name"}, nil},
		{"another store is proposed and named as a conflict",
			customer.LeadForm{Phone: "13800138000", Store: "bj-01"},
			customer.Proposal{Store: "bj-01"}, []string{"store"}, nil},
		{"a new interest is proposed without a conflict",
			customer.LeadForm{Phone: "13800138000", Interest: "热玛吉"}, customer.Proposal{Interest: "热玛吉"}, nil, nil},
		{"a consent the person does not have waits for their confirmation",
			customer.LeadForm{Phone: "13800138000", ConsentMarketingSMS: yes, ConsentTextVersion: "2025-01"},
			customer.Proposal{Consents: []model.Consent{{Category: model.CategoryMarketing, Channel: model.ChannelSMS, Granted: true}}},
			nil, []string{"marketing:sms"}},
		{"a consent the person already has is neither proposed nor confirmed again",
			customer.LeadForm{Phone: "13800138000", ConsentService: yes, ConsentTextVersion: "2025-01"}, customer.Proposal{}, nil, nil},
		{"a withdrawal on the form is proposed, never applied, never confirmed",
			customer.LeadForm{Phone: "13800138000", ConsentMarketingEmail: no, Email: "x@example.com"},
			customer.Proposal{Email: "x@example.com", Consents: []model.Consent{{Category: model.CategoryMarketing, Channel: model.ChannelEmail, Granted: false}}},
			nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, err := json.Marshal(base)
			if err != nil {
				t.Fatal(err)
			}
			l := mustLead(t, tc.second, later)
			k, err := base.Receive(l)
			if err != nil {
				t.Fatal(err)
			}
			if after, err := json.Marshal(base); err != nil || !bytes.Equal(before, after) {
				t.Fatalf("the profile changed:\n%s\n%s", before, after)
			}
			got := k.Proposal
			gotConsents, wantConsents := got.Consents, tc.proposal.Consents
			got.Consents, tc.proposal.Consents = nil, nil
			if fmt.Sprint(got) != fmt.Sprint(tc.proposal) {
				t.Errorf("proposal %+v, want %+v", got, tc.proposal)
			}
			if len(gotConsents) != len(wantConsents) {
				t.Fatalf("proposed consents %+v, want %+v", gotConsents, wantConsents)
			}
			for i, c := range gotConsents {
				w := wantConsents[i]
				if c.Category != w.Category || c.Channel != w.Channel || c.Granted != w.Granted || !c.At.Equal(later) {
					t.Errorf("proposed consent %+v, want %+v at %v", c, w, later)
				}
			}
			if fmt.Sprint(k.Conflicts) != fmt.Sprint(tc.conflicts) {
				t.Errorf("conflicts %v, want %v", k.Conflicts, tc.conflicts)
			}
			var confirm []string
			for _, c := range k.Confirm {
				confirm = append(confirm, string(c.Category)+":"+string(c.Channel))
			}
			if fmt.Sprint(confirm) != fmt.Sprint(tc.confirm) {
				t.Errorf("to confirm %v, want %v", confirm, tc.confirm)
			}
		})
	}
}

func TestAFormForAnErasedProfileIsRefused(t *testing.T) {
	l := mustLead(t, customer.LeadForm{Phone: "13800138000"}, morning)
	p := customer.NewProfile("c1", "ABCDEFGH", "", l, customer.Grading{}).Erase(morning)
	if _, err := p.Receive(l); !errors.Is(err, customer.ErrErased) {
		t.Errorf("got %v, want ErrErased", err)
	}
}

func TestReferralAttribution(t *testing.T) {
	l := mustLead(t, customer.LeadForm{Phone: "13800138000", ReferralCode: "ABCDEFGH"}, morning)
	p := customer.NewProfile("c2", "ZZZZ2222", "c1", l, customer.Grading{})
	if p.ReferredBy != "c1" {
		t.Fatalf("referrer not attributed: %q", p.ReferredBy)
	}
	if len(p.Touches) != 1 || p.Touches[0].ReferralCode != "ABCDEFGH" {
		t.Errorf("the acquisition touch does not carry the code: %+v", p.Touches)
	}
	self := customer.NewProfile("c3", "ZZZZ3333", "c3", l, customer.Grading{})
	if self.ReferredBy != "" {
		t.Errorf("a customer referred themselves: %q", self.ReferredBy)
	}
}

func TestReferralCodes(t *testing.T) {
	seen := map[string]bool{}
	rnd := bytes.NewReader(bytes.Repeat([]byte{0, 7, 255, 31, 100, 200, 13, 77, 250, 251}, 400))
	for range 50 {
		c, err := customer.NewReferralCode(rnd)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != customer.ReferralCodeLen || strings.ContainsAny(c, "01ILOUV") {
			t.Errorf("code %q is not short and unambiguous", c)
		}
		if n, err := customer.NormalizeReferralCode(strings.ToLower(c[:4]) + "-" + c[4:]); err != nil || n != c {
			t.Errorf("typed form of %q normalises to %q, %v", c, n, err)
		}
		seen[c] = true
	}
	if _, err := customer.NewReferralCode(bytes.NewReader(nil)); err == nil {
		t.Error("an exhausted random source must be an error, not a short code")
	}
	cases := []string{"", "ABC", "ABCDEFGHJ", "ABCDEFG0", "ABCD EFGI"}
	for _, c := range cases {
		if _, err := customer.NormalizeReferralCode(c); err == nil {
			t.Errorf("NormalizeReferralCode(%q) accepted", c)
		}
	}
}

func TestMasking(t *testing.T) {
	cases := []struct{ name, got, want string }{
		{"a CN mobile shows prefix and last four", customer.MaskPhone("+8613812345678"), "138****5678"},
		{"a foreign number keeps its country code", customer.MaskPhone("+447911123456"), "+44 791****3456"},
		{"an email keeps its first letter and domain", customer.MaskEmail("john@example.com"), "j***@example.com"},
		{"a one-letter local part is still masked", customer.MaskEmail("j@example.com"), "j***@example.com"},
		{"a Chinese local part masks by character", customer.MaskEmail("王芳@例子.cn"), "王***@例子.cn"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
	p := customer.Profile{ID: "c1", Phone: "+8613812345678", Email: "john@example.com"}
	for _, tc := range []struct {
		role   model.Role
		masked bool
	}{{model.RoleAgent, true}, {model.RoleClinician, false}, {model.RoleAdmin, false}} {
		s := p.Summary(tc.role)
		if masked := s.Phone != p.Phone; masked != tc.masked || (s.Email != p.Email) != tc.masked {
			t.Errorf("%s list row: %+v, masked=%v", tc.role, s, tc.masked)
		}
	}
}

func TestPatchFieldRules(t *testing.T) {
	p := customer.Profile{ID: "c1", Name: "王芳", Phone: "+8613800138000", Store: "sh-01", Tier: model.TierC}
	cases := []struct {
		name    string
		role    model.Role
		body    string
		fields  []string // at fault; nil = accepted
		changed []string
	}{
		{"an agent corrects a name and a phone in another format", model.RoleAgent, `{"name":"王 芳","phone":"138 0013 8001"}`, nil, []string{"name", "phone"}},
		{"an unknown field is refused", model.RoleAdmin, `{"isVip":true}`, []string{"isVip"}, nil},
		{"the tier is read-only for everyone", model.RoleAdmin, `{"tier":"A"}`, []string{"tier"}, nil},
		{"consent cannot be set by staff", model.RoleAdmin, `{"consents":[]}`, []string{"consents"}, nil},
		{"an agent may not write the sensitive section", model.RoleAgent, `{"allergies":"penicillin"}`, []string{"allergies"}, nil},
		{"a clinician writes the sensitive section", model.RoleClinician, `{"allergies":"penicillin"}`, nil, []string{"allergies"}},
		{"an agent may not move a customer to another store", model.RoleAgent, `{"store":"bj-01"}`, []string{"store"}, nil},
		{"an admin moves a customer to a known store", model.RoleAdmin, `{"store":"bj-01"}`, nil, []string{"store"}},
		{"an admin may not move a customer to an unknown store", model.RoleAdmin, `{"store":"gz-99"}`, []string{"store"}, nil},
		{"a bad phone is a field error", model.RoleAgent, `{"phone":"+86 abc"}`, []string{"phone"}, nil},
		{"a number where a string belongs is a field error", model.RoleAgent, `{"name":42}`, []string{"name"}, nil},
		{"clearing the only contact is refused", model.RoleAgent, `{"phone":null}`, []string{"phone"}, nil},
		{"clearing the phone is fine once there is an email", model.RoleAgent, `{"phone":null,"email":"a@example.com"}`, nil, []string{"phone", "email"}},
		{"setting a value it already has changes nothing", model.RoleAgent, `{"name":"王芳"}`, nil, nil},
		{"an agent records that the customer keeps a lunar birthday", model.RoleAgent, `{"birthdayLunar":true}`, nil, []string{"birthdayLunar"}},
		{"the lunar birthday flag is a boolean", model.RoleAgent, `{"birthdayLunar":"yes"}`, []string{"birthdayLunar"}, nil},
		{"every forbidden field is named at once and nothing applies", model.RoleAgent, `{"name":"X","tier":"A","store":"bj-01","medicalHistory":"x"}`, []string{"tier", "store", "medicalHistory"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.body), &body); err != nil {
				t.Fatal(err)
			}
			e, err := rules.ApplyPatch(p, customer.Sensitive{}, tc.role, body, "staff-1", morning)
			if tc.fields != nil {
				var fe customer.FieldErrors
				if !errors.As(err, &fe) {
					t.Fatalf("want field errors %v, got %v", tc.fields, err)
				}
				for _, f := range tc.fields {
					if !fe.Has(f) {
						t.Errorf("%q not named in %v", f, fe)
					}
				}
				if len(fe) != len(tc.fields) {
					t.Errorf("fields %v, want %v", fe, tc.fields)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(e.Changed)
			want := slices.Clone(tc.changed)
			slices.Sort(want)
			if fmt.Sprint(e.Changed) != fmt.Sprint(want) {
				t.Errorf("changed %v, want %v", e.Changed, want)
			}
			if slices.Contains(tc.changed, "phone") && e.Profile.Phone != "" && e.Profile.Phone != "+8613800138001" {
				t.Errorf("phone not normalised: %q", e.Profile.Phone)
			}
			if slices.Contains(tc.changed, "allergies") && (e.Sensitive.Allergies != "penicillin" || e.Sensitive.UpdatedBy != "staff-1") {
				t.Errorf("sensitive section %+v", e.Sensitive)
			}
		})
	}
}

func TestErasureLeavesNoPersonalData(t *testing.T) {
	l := mustLead(t, customer.LeadForm{
		Name: "王芳", Phone: "13800138000", Email: "wang@example.com", Birthday: "1990-05-01",
		Message: "请尽快联系我 13800138000", Interest: "玻尿酸", UTMSource: "baidu", UTMTerm: "王芳 玻尿酸",
		UTMCampaign: "spring", ConsentService: customer.Checkbox{Set: true, Value: true}, ConsentTextVersion: "v3",
	}, morning)
	p := customer.NewProfile("c1", "ABCDEFGH", "c0", l, customer.DefaultGradePolicy().Grade(l))
	p.Tags = []string{"filler", "stage:post-op"}
	p.Tier, p.Stage = model.TierB, model.StageActive
	erasedAt := morning.Add(time.Hour)
	e := p.Erase(erasedAt)

	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, planted := range []string{"王芳", "13800138000", "wang@example.com", "1990-05-01", "尽快", "玻尿酸", "filler", "ABCDEFGH", "c0", "203.0.113.9"} {
		if strings.Contains(string(out), planted) {
			t.Errorf("erased profile still holds %q: %s", planted, out)
		}
	}
	if e.ID != "c1" || e.Store != "sh-01" || e.Tier != model.TierB || e.Stage != model.StageActive ||
		len(e.Touches) != 1 || e.Touches[0].UTM.Source != "baidu" || e.Touches[0].UTM.Campaign != "spring" || !e.CreatedAt.Equal(morning) {
		t.Errorf("aggregates lost: %s", out)
	}
	if e.Consents.Granted(model.CategoryService, model.ChannelSMS) {
		t.Error("an erased person can still be messaged")
	}
	if again := e.Erase(erasedAt.Add(time.Hour)); !again.ErasedAt.Equal(erasedAt) {
		t.Error("erasing twice moved the erasure time")
	}
	if len(e.DedupeKeys()) != 0 {
		t.Errorf("an erased profile still claims identities %v", e.DedupeKeys())
	}
}

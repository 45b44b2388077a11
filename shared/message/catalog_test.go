package message

import (
	"errors"
	"strings"
	"testing"
)

func catalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatalf("default catalog: %v", err)
	}
	return c
}

var full = map[string]string{
	"Name": "王芳", "UnsubscribeURL": "https://t.example/u/abc", "SurveyURL": "https://t.example/s/1", "TierName": "VIP",
	"ConfirmURL": "https://t.example/v1/consent/confirm?t=abc",
}

// anonymous templates go to whoever holds a contact before we know it is our customer
// (a double opt-in confirmation): they greet nobody by name, so they also work for a
// profile that has none.
var anonymous = map[string]bool{"consent.confirm.sms": true, "consent.confirm.email": true}

func TestEveryTemplateRendersInBothLocales(t *testing.T) {
	c := catalog(t)
	for _, id := range c.IDs() {
		for _, ch := range c.entries[id].channels {
			for _, loc := range []string{"zh-CN", "en"} {
				r, err := c.Render(id, ch, loc, full)
				if err != nil {
					t.Errorf("%s/%s/%s: %v", id, ch, loc, err)
					continue
				}
				if r.Locale != loc {
					t.Errorf("%s: rendered %s, asked %s", id, r.Locale, loc)
				}
				if anonymous[id] {
					if strings.Contains(r.Text, full["Name"]) || !strings.Contains(r.Text, full["ConfirmURL"]) {
						t.Errorf("%s/%s: a confirmation must carry its link and no name", id, loc)
					}
				} else if !strings.Contains(r.Text, full["Name"]) {
					t.Errorf("%s/%s: text does not greet the customer by name", id, loc)
				}
				if ch == ChannelEmail && (!strings.Contains(r.HTML, full["UnsubscribeURL"]) || !strings.Contains(r.Text, full["UnsubscribeURL"])) {
					t.Errorf("%s/%s: email without unsubscribe link", id, loc)
				}
			}
		}
	}
}

func TestRender(t *testing.T) {
	c := catalog(t)
	tests := []struct {
		name    string
		id, ch  string
		locale  string
		vars    map[string]string
		err     error
		contain string
	}{
		{"a missing name fails instead of sending 'Hi ,'", "checkin.week", ChannelSMS, "en", map[string]string{}, ErrMissingVariable, ""},
		{"a blank name counts as missing", "checkin.week", ChannelSMS, "en", map[string]string{"Name": "  "}, ErrMissingVariable, ""},
		{"an email without an unsubscribe link fails", "birthday.greeting", ChannelEmail, "en", map[string]string{"Name": "Ann"}, ErrMissingVariable, ""},
		{"the error names the missing variable", "survey.csat", ChannelEmail, "en", map[string]string{"Name": "Ann", "UnsubscribeURL": "u"}, ErrMissingVariable, "SurveyURL"},
		{"an unknown template fails", "nope", ChannelSMS, "en", full, ErrUnknownTemplate, ""},
		{"an email template asked for as SMS fails", "birthday.greeting", ChannelSMS, "en", full, ErrWrongChannel, ""},
		{"en-GB falls back to en", "checkin.week", ChannelSMS, "en-GB", map[string]string{"Name": "Ann"}, nil, "Hi Ann"},
		{"an unknown locale falls back to zh-CN", "checkin.week", ChannelSMS, "fr", map[string]string{"Name": "Ann"}, nil, "Ann您好"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := c.Render(tc.id, tc.ch, tc.locale, tc.vars)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if tc.contain != "" && !strings.Contains(err.Error(), tc.contain) {
					t.Errorf("err %q does not name %q", err, tc.contain)
				}
				return
			}
			if err != nil || !strings.Contains(r.Text, tc.contain) {
				t.Errorf("Render = %q, %v; want text containing %q", r.Text, err, tc.contain)
			}
		})
	}
}

func TestHTMLIsEscapedButTextIsNot(t *testing.T) {
	c := catalog(t)
	vars := map[string]string{"Name": `<script>alert(1)</script>`, "UnsubscribeURL": "javascript:alert(1)"}
	r, err := c.Render("birthday.greeting", ChannelEmail, "en", vars)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<script>") {
		t.Errorf("a name was injected into HTML unescaped: %s", r.HTML)
	}
	if strings.Contains(r.HTML, `href="javascript:`) {
		t.Errorf("a javascript: URL reached an href: %s", r.HTML)
	}
	if !strings.Contains(r.Text, "<script>") {
		t.Errorf("the plain-text part should carry the name verbatim, got %q", r.Text)
	}
}

func TestParseRejectsBrokenCatalogs(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"an email template without an unsubscribe link", `{"defaultLocale":"en","templates":{"x":{"channels":["email"],"locales":{"en":{"subject":"s","text":"t","html":"<p>h</p>"}}}}}`},
		{"a template missing the default locale", `{"defaultLocale":"zh-CN","templates":{"x":{"channels":["sms"],"locales":{"en":{"text":"t"}}}}}`},
		{"a template that does not parse", `{"defaultLocale":"en","templates":{"x":{"channels":["sms"],"locales":{"en":{"text":"{{.Name"}}}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.doc)); !errors.Is(err, ErrInvalidCatalog) {
				t.Errorf("Parse = %v, want ErrInvalidCatalog", err)
			}
		})
	}
}

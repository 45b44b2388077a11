package message

import (
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering"
)

// internalCode matches what only the system should ever read: snake_case codes (rule
// ids, reasons, stages written as codes), dotted template ids, and template leftovers.
var internalCode = regexp.MustCompile(`[a-z]+_[a-z_]+|\b[a-z]+\.[a-z_]+\b|\{\{|\}\}|<no value>|%!`)

// bareTierLetter finds a tier letter standing alone where a word would be: next to a
// Chinese character ("升级为A"), or as a token of its own in English text, except the
// article "A" opening a phrase ("A manager will call").
func bareTierLetter(s string) string {
	rs := []rune(s)
	for i, r := range rs {
		if r != 'A' && r != 'B' && r != 'C' {
			continue
		}
		prev, next := rune(0), rune(0)
		if i > 0 {
			prev = rs[i-1]
		}
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		if unicode.Is(unicode.Han, prev) || unicode.Is(unicode.Han, next) {
			return string(rs[max(0, i-4):min(len(rs), i+5)])
		}
		if unicode.IsLetter(prev) || unicode.IsDigit(prev) || unicode.IsLetter(next) || unicode.IsDigit(next) {
			continue // part of a word or a URL
		}
		if r == 'A' && next == ' ' && i+2 < len(rs) && unicode.IsLower(rs[i+2]) {
			continue // the article
		}
		return string(rs[max(0, i-4):min(len(rs), i+5)])
	}
	return ""
}

// Every template in every locale, rendered as the dispatcher renders it with the
// default tiering policy, names tiers as the business does ("VIP") and shows no
// internal code: a customer must never read that they are "C".
func TestCustomersReadTheBusinesssWordsNeverAnInternalCode(t *testing.T) {
	c := catalog(t)
	policy := tiering.DefaultPolicy()
	urls := regexp.MustCompile(`https?://\S+`)
	for _, tier := range []model.Tier{model.TierA, model.TierB, model.TierC} {
		name := policy.Name(tier)
		if name == string(tier) {
			t.Fatalf("the default tiering policy has no name for tier %s", tier)
		}
		vars := map[string]string{"Name": "王芳", "TierName": name, "UnsubscribeURL": "https://t.example/u/abc",
			"SurveyURL": "https://t.example/s/rem_1", "ConfirmURL": "https://t.example/c?t=abc"}
		for _, id := range c.IDs() {
			for _, ch := range c.entries[id].channels {
				for loc := range c.entries[id].locales {
					r, err := c.Render(id, ch, loc, vars)
					if err != nil {
						t.Errorf("%s/%s/%s: %v", id, ch, loc, err)
						continue
					}
					usesTier := false
					for _, k := range c.entries[id].locales[loc].required {
						usesTier = usesTier || k == "TierName"
					}
					for part, text := range map[string]string{"subject": r.Subject, "text": r.Text, "html": r.HTML} {
						plain := urls.ReplaceAllString(text, "")
						plain = regexp.MustCompile(`href="[^"]*"`).ReplaceAllString(plain, "")
						if m := bareTierLetter(plain); m != "" {
							t.Errorf("%s/%s/%s %s (tier %s): a bare tier letter in %q", id, ch, loc, part, tier, m)
						}
						if m := internalCode.FindString(plain); m != "" {
							t.Errorf("%s/%s/%s %s: internal code %q", id, ch, loc, part, m)
						}
						for _, rc := range followup.Reasons() {
							if strings.Contains(plain, string(rc)) {
								t.Errorf("%s/%s/%s %s: reason code %q", id, ch, loc, part, rc)
							}
						}
					}
					if usesTier && !strings.Contains(r.Text, name) {
						t.Errorf("%s/%s/%s: the text does not name the tier %q", id, ch, loc, name)
					}
				}
			}
		}
	}
}

func TestTheWordingCheckCatchesALetter(t *testing.T) {
	for _, s := range []string{"恭喜升级为A", "You are now C; enjoy", "Tier: B."} {
		if bareTierLetter(s) == "" {
			t.Errorf("%q passed the check", s)
		}
	}
	for _, s := range []string{"A manager will call you", "恭喜升级为VIP", "Hi Ann"} {
		if m := bareTierLetter(s); m != "" {
			t.Errorf("%q flagged at %q", s, m)
		}
	}
}

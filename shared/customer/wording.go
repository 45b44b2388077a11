package customer

import (
	"slices"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// CurrentWordingVersion is the consent wording the business shows today. A version,
// once published, never changes: a new text gets a new version, so a consent record's
// TextVersion always names the words the person saw.
const CurrentWordingVersion = "2025-01"

// ConfirmWindow is how long a double opt-in link stays valid after it is sent.
const ConfirmWindow = 72 * time.Hour

// ConfirmSource is the source a consent given through a double opt-in link records.
const ConfirmSource = "double-opt-in"

// wordings holds every published version: purpose → locale → text. The purposes are the
// form's boxes; service consent is one box whatever the channel.
var wordings = map[string]map[string]map[string]string{
	"2025-01": {
		"service": {
			"zh-CN": "就本次咨询和预约联系我。",
			"en":    "Contact me about this request and my appointments.",
		},
		"marketing:sms": {
			"zh-CN": "通过短信向我发送优惠信息。可随时回复 TD 退订。",
			"en":    "Send me offers by SMS. Reply TD at any time to stop.",
		},
		"marketing:email": {
			"zh-CN": "通过邮件向我发送优惠信息。可随时点击邮件中的退订链接退订。",
			"en":    "Send me offers by e-mail. Use the unsubscribe link in any e-mail to stop.",
		},
	},
}

// WordingLocales are the languages every version is written in, in the order pages show them.
var WordingLocales = []string{"zh-CN", "en"}

// WordingVersion is the version a double opt-in shows and records: the one the form
// named when we hold its text, else the current one (a form may carry a version this
// deployment never published; the person then confirms the words we can show).
func WordingVersion(formVersion string) string {
	if _, ok := wordings[formVersion]; ok {
		return formVersion
	}
	return CurrentWordingVersion
}

// Wording returns the text of the consent (cat, ch) in version and locale; ok is false
// when that version, purpose or locale is not published.
func Wording(version string, cat model.Category, ch model.Channel, locale string) (string, bool) {
	purpose := string(cat)
	if cat != model.CategoryService {
		purpose += ":" + string(ch)
	}
	t, ok := wordings[version][purpose][locale]
	return t, ok
}

// WordingVersions lists the published versions, sorted.
func WordingVersions() []string {
	vs := make([]string, 0, len(wordings))
	for v := range wordings {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

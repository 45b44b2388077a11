package followup

import (
	"slices"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// Birthday is a month and day; the year is private and not needed to greet someone.
// With Lunar set, Month and Day are a Chinese lunar month (1–12) and day (1–30), and
// the greeting goes on that lunar date each year (see lunar.go).
type Birthday struct {
	Month time.Month `json:"month"`
	Day   int        `json:"day"`
	Lunar bool       `json:"lunar,omitempty"`
}

// Valid reports whether the birthday is a real calendar day (29 Feb allowed; a lunar
// day up to 30).
func (b Birthday) Valid() bool {
	if b.Month < time.January || b.Month > time.December || b.Day < 1 {
		return false
	}
	if b.Lunar {
		return b.Day <= 30
	}
	return b.Day <= time.Date(2024, b.Month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// In returns the local midnight of the birthday in year y. 29 Feb falls on 28 Feb in
// common years so those customers are greeted every year.
func (b Birthday) In(y int, loc *time.Location) time.Time {
	d := b.Day
	if last := time.Date(y, b.Month+1, 0, 0, 0, 0, 0, loc).Day(); d > last {
		d = last
	}
	return time.Date(y, b.Month, d, 0, 0, 0, 0, loc)
}

// CustomerView is what follow-up needs to know about a customer: where and how they can
// be reached and what they agreed to. It is read fresh at send time so an opt-out given a
// minute ago is honoured. Name, Phone and Email are personal data: never log them.
type CustomerView struct {
	ID              string          `json:"id"`
	Store           string          `json:"store"`
	Locale          string          `json:"locale"`
	TimeZone        string          `json:"timeZone"`
	Name            string          `json:"name"`
	Phone           string          `json:"phone,omitempty"`
	Email           string          `json:"email,omitempty"`
	Tier            model.Tier      `json:"tier,omitempty"`
	Stage           model.Stage     `json:"stage,omitempty"`
	Birthday        Birthday        `json:"birthday"`
	Consents        []model.Consent `json:"consents,omitempty"`
	MarketingOptOut bool            `json:"marketingOptOut,omitempty"` // STOP / 退订 / unsubscribe: every channel at once
	// MarketingOptOutAt is when the opt-out was given: a marketing consent the person
	// grants on a channel after it (a confirmed double opt-in) reopens that channel. Zero:
	// unknown, and the opt-out holds whatever was granted.
	MarketingOptOutAt time.Time       `json:"marketingOptOutAt,omitzero"`
	BadChannels       []model.Channel `json:"badChannels,omitempty"` // permanent failures seen (invalid number, hard bounce)
	// Suppressed holds a channel the delivery events closed (bounced, complained) until
	// the customer consents again; the reason is what a skipped message records.
	Suppressed map[model.Channel]Reason `json:"suppressed,omitempty"`
	Erased     bool                     `json:"erased,omitempty"`
}

// address returns where ch reaches the customer, "" if nowhere.
func (v CustomerView) address(ch model.Channel) string {
	switch ch {
	case model.ChannelSMS, model.ChannelCall:
		return v.Phone
	case model.ChannelEmail:
		return v.Email
	}
	return ""
}

// latestConsent returns the most recent decision for (cat, ch).
func (v CustomerView) latestConsent(cat model.Category, ch model.Channel) (model.Consent, bool) {
	var best model.Consent
	found := false
	for _, c := range v.Consents {
		if c.Category == cat && c.Channel == ch && (!found || !c.At.Before(best.At)) {
			best, found = c, true
		}
	}
	return best, found
}

// MarketingRegranted reports whether the person granted marketing on some channel after
// their opt-out (a confirmed double opt-in): the opt-out is then not in force there, and
// a new STOP is a new opt-out.
func (v CustomerView) MarketingRegranted() bool {
	if !v.MarketingOptOut || v.MarketingOptOutAt.IsZero() {
		return false
	}
	for _, c := range v.Consents {
		if c.Category == model.CategoryMarketing && c.Granted && c.At.After(v.MarketingOptOutAt) {
			return true
		}
	}
	return false
}

// Permits decides whether cat may reach the customer on ch now. Service messages need no
// opt-in but honour a withdrawal; marketing needs an opt-in and no global opt-out. A call
// is a conversation with staff, so it follows the SMS consent of the same number.
func (v CustomerView) Permits(cat model.Category, ch model.Channel) Reason {
	if v.Erased {
		return SkipErased
	}
	if r := v.Suppressed[ch]; r != ReasonNone {
		return r
	}
	if ch == model.ChannelCall && v.Suppressed[model.ChannelSMS] == ReasonBounced {
		return ReasonBounced
	}
	if slices.Contains(v.BadChannels, ch) || (ch == model.ChannelCall && slices.Contains(v.BadChannels, model.ChannelSMS)) {
		return SkipBadContact
	}
	if v.address(ch) == "" {
		return SkipNoAddress
	}
	consentCh := ch
	if ch == model.ChannelCall {
		consentCh = model.ChannelSMS
	}
	c, found := v.latestConsent(cat, consentCh)
	switch cat {
	case model.CategoryMarketing:
		regranted := found && c.Granted && !v.MarketingOptOutAt.IsZero() && c.At.After(v.MarketingOptOutAt)
		if v.MarketingOptOut && !regranted {
			return SkipOptedOut
		}
		if !found || !c.Granted {
			return SkipNoConsent
		}
	default:
		if found && !c.Granted {
			return SkipOptedOut
		}
	}
	return SkipNone
}

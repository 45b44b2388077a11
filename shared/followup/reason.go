package followup

import (
	"slices"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// Reason says why a message did not go out when it was due: the cause of a deferral
// (it goes later) or of a suppression (it never goes). It is stored on the reminder
// (`reason`), shown on the customer timeline, and counted per day in the metrics. The
// list is closed: every code is in Reasons, and docs/followup.md documents each one
// (a test checks both).
type Reason string

// SkipReason is the former name of Reason.
//
// Deprecated: use Reason.
type SkipReason = Reason

// Reasons. Deferral reasons are also suppression reasons when waiting would pass the
// message's NotAfter, or when its class drops instead of deferring.
const (
	ReasonNone Reason = ""

	// Contact discipline: when.
	ReasonQuietHours  Reason = "quiet_hours"  // the customer's night (per-weekday window)
	ReasonHoliday     Reason = "holiday"      // a statutory holiday (mainland China calendar)
	ReasonClosedDay   Reason = "closed_day"   // a day the business closes (its own calendar)
	ReasonZoneUnknown Reason = "zone_unknown" // no time zone on the profile and no hour acceptable in every zone served
	// Frequency caps: one code per category and window.
	ReasonCapServiceDaily    Reason = "cap_service_daily"
	ReasonCapServiceWeekly   Reason = "cap_service_weekly"
	ReasonCapMarketingDaily  Reason = "cap_marketing_daily"
	ReasonCapMarketingWeekly Reason = "cap_marketing_weekly"

	// The customer: whether at all.
	ReasonNoConsent  Reason = "no_consent"  // marketing without an opt-in on the channel
	ReasonOptedOut   Reason = "opted_out"   // STOP / 退订 / unsubscribe, or a withdrawn consent
	ReasonBounced    Reason = "bounced"     // the address bounced permanently (delivery events)
	ReasonComplained Reason = "complained"  // the customer marked a message as spam (delivery events)
	ReasonBadContact Reason = "bad_contact" // the provider refused the address as invalid at send time, or staff found a wrong number
	ReasonNoAddress  Reason = "no_address"  // no phone / e-mail for the channel
	ReasonErased     Reason = "erased"      // the customer was erased

	// The message itself.
	ReasonStale            Reason = "stale"             // past its NotAfter: a late birthday note is worse than none
	ReasonCancelled        Reason = "cancelled"         // a later event made it pointless (purchase, opt-out, erasure, nothing left to confirm)
	ReasonUncertainSend    Reason = "uncertain_send"    // the provider may have it and cannot say; its class prefers a loss to a duplicate
	ReasonTemplateError    Reason = "template_error"    // the template lacks a variable or does not render: nothing is sent empty
	ReasonRejected         Reason = "rejected"          // the provider refused this message permanently
	ReasonRetriesExhausted Reason = "retries_exhausted" // retryable provider errors until the policy's attempts ran out
	ReasonProviderError    Reason = "provider_error"    // a retryable provider error (throttling, 5xx, unreachable): retried after a backoff
	ReasonYielded          Reason = "yielded"           // the last cap slot went to a higher-priority message of the same customer
)

// Former codes, kept so the timeline can read reminders recorded before the list.
const (
	SkipNone       = ReasonNone
	SkipErased     = ReasonErased
	SkipOptedOut   = ReasonOptedOut
	SkipNoConsent  = ReasonNoConsent
	SkipNoAddress  = ReasonNoAddress
	SkipBadContact = ReasonBadContact
	SkipStale      = ReasonStale
	SkipCancelled  = ReasonCancelled
	SkipUncertain  = ReasonUncertainSend
)

var reasonDocs = map[Reason]string{
	ReasonQuietHours:         "the customer's local night (quiet hours of that weekday)",
	ReasonHoliday:            "a statutory holiday in mainland China; classes that avoid holidays wait for the next working day (make-up working days count)",
	ReasonClosedDay:          "a day the business closes (policy holidays.closedDays)",
	ReasonZoneUnknown:        "the profile has no time zone and no hour is acceptable in every zone the business serves",
	ReasonCapServiceDaily:    "the customer's daily cap of service messages is full",
	ReasonCapServiceWeekly:   "the customer's weekly cap of service messages is full",
	ReasonCapMarketingDaily:  "the customer's daily cap of marketing messages is full",
	ReasonCapMarketingWeekly: "the customer's weekly cap of marketing messages is full",
	ReasonNoConsent:          "marketing without the customer's opt-in on that channel",
	ReasonOptedOut:           "the customer opted out (STOP / 退订 / unsubscribe link) or withdrew consent",
	ReasonBounced:            "the address bounced permanently",
	ReasonComplained:         "the customer complained (marked a message as spam)",
	ReasonBadContact:         "the provider refused the number or address as invalid, or staff recorded a wrong number",
	ReasonNoAddress:          "no phone number or e-mail address for the channel",
	ReasonErased:             "the customer was erased",
	ReasonStale:              "past its NotAfter: a late message is worse than none",
	ReasonCancelled:          "a later event made it pointless (purchase, opt-out, erasure, nothing left to confirm)",
	ReasonUncertainSend:      "a send whose outcome is unknown (timeout after the request left) that the provider cannot look up; the class prefers a loss to a duplicate",
	ReasonTemplateError:      "the template misses a variable or does not render; nothing is sent empty",
	ReasonRejected:           "the provider refused this message permanently",
	ReasonRetriesExhausted:   "retryable provider errors until the policy's attempts ran out",
	ReasonProviderError:      "a retryable provider error (throttling, 5xx, a request that never reached it): retried after a backoff",
	ReasonYielded:            "the last cap slot of the day or week went to a higher-priority message due for the same customer",
}

// Reasons lists every code, sorted.
func Reasons() []Reason {
	out := make([]Reason, 0, len(reasonDocs))
	for r := range reasonDocs {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// Known reports whether r is a documented code (ReasonNone is not).
func (r Reason) Known() bool { _, ok := reasonDocs[r]; return ok }

// Doc is the one-line meaning of the code.
func (r Reason) Doc() string { return reasonDocs[r] }

// CapReason is the code of a full cap of category cat; weekly for the ISO-week window.
func CapReason(cat model.Category, weekly bool) Reason {
	switch {
	case cat == model.CategoryMarketing && weekly:
		return ReasonCapMarketingWeekly
	case cat == model.CategoryMarketing:
		return ReasonCapMarketingDaily
	case weekly:
		return ReasonCapServiceWeekly
	}
	return ReasonCapServiceDaily
}

// Disposition is where a message reminder stands for a reader: every reminder ends
// sent, delivered or suppressed; on the way it is pending, sending or deferred.
type Disposition string

const (
	DispositionPending    Disposition = "pending"    // waiting for its due time
	DispositionSending    Disposition = "sending"    // claimed: a worker is talking to the provider
	DispositionDeferred   Disposition = "deferred"   // waiting for a later slot: Until and Reason say when and why
	DispositionSent       Disposition = "sent"       // the provider accepted it
	DispositionDelivered  Disposition = "delivered"  // the provider reported delivery (delivery events)
	DispositionSuppressed Disposition = "suppressed" // it will never go: Reason says why
	DispositionTask       Disposition = "task"       // a staff task: its status and outcome tell
)

// Account is a reminder's disposition as the timeline shows it.
type Account struct {
	Disposition Disposition `json:"disposition"`
	Reason      Reason      `json:"reason,omitempty"`
	Until       time.Time   `json:"until,omitzero"` // deferred: when it is tried again
}

// Account tells where the reminder stands and why.
func (r Reminder) Account() Account {
	if r.IsTask() {
		return Account{Disposition: DispositionTask}
	}
	switch r.Status {
	case StatusPending:
		return Account{Disposition: DispositionPending}
	case StatusSending:
		return Account{Disposition: DispositionSending}
	case StatusDeferred, StatusRetry:
		reason := r.Reason
		if reason == ReasonNone && r.Status == StatusRetry {
			reason = ReasonProviderError
		}
		return Account{Disposition: DispositionDeferred, Reason: reason, Until: r.DueAt}
	case StatusSent:
		return Account{Disposition: DispositionSent}
	case StatusDelivered:
		return Account{Disposition: DispositionDelivered}
	}
	reason := r.Reason
	if reason == ReasonNone && r.Status == StatusFailed {
		reason = ReasonRejected // recorded before reasons were: a permanent provider failure
	}
	return Account{Disposition: DispositionSuppressed, Reason: reason}
}

package followup

import (
	"strings"
	"time"
	"unicode"

	"github.com/tierflow/tierflow/shared/model"
)

// DeliveryKind is what a provider reported about one message after it was sent (SES
// event publishing, End User Messaging SMS delivery receipts).
type DeliveryKind string

const (
	DeliverySent       DeliveryKind = "sent"       // the provider accepted it (SES Send)
	DeliveryDelivered  DeliveryKind = "delivered"  // the recipient's server or carrier took it
	DeliveryDelayed    DeliveryKind = "delayed"    // still trying (SES DeliveryDelay, a transient bounce): nothing changes
	DeliveryBounced    DeliveryKind = "bounced"    // a permanent bounce: the address is dead
	DeliveryComplained DeliveryKind = "complained" // delivered, then marked as spam
	// DeliveryFailed: the provider gave up on this message for a reason that is not the
	// address (a rendering failure, a carrier block); Delivery.Reason says which.
	DeliveryFailed DeliveryKind = "failed"
)

// Delivery is one provider report about a message tierflow sent. ReminderID comes from
// the message's tag (SES `reminder` tag, SMS `Context.reminder`); it is "" for a report
// about a message that carried none.
type Delivery struct {
	Channel    model.Channel
	ReminderID string
	Kind       DeliveryKind
	At         time.Time
	ProviderID string
	// Reason is the suppression code of a failed delivery (template_error, bad_contact,
	// rejected); bounces and complaints have their own.
	Reason Reason
}

// Closes returns the reason the delivery closes its channel for the customer (a
// permanent bounce, any complaint) until they consent again, ReasonNone otherwise.
func (d Delivery) Closes() Reason {
	switch d.Kind {
	case DeliveryBounced:
		return ReasonBounced
	case DeliveryComplained:
		return ReasonComplained
	}
	return ReasonNone
}

// ApplyDelivery records a provider's report on the reminder it names and reports whether
// anything changed. It is what turns an uncertain send into a certain one: a report that
// the message went out settles a reminder still `sending` (a timed-out claim), `retry`
// (so the resend does not happen) or `skipped: uncertain_send` (delivered but recorded
// unsent); a permanent bounce or failure marks it failed with its reason. Reports arrive
// in any order and more than once: a delivered message never goes back to sent, and a
// repeated report changes nothing.
func (r Reminder) ApplyDelivery(d Delivery) (Reminder, bool) {
	if r.IsTask() {
		return r, false
	}
	uncertain := r.Status == StatusSkipped && r.Reason == ReasonUncertainSend
	inFlight := r.Status == StatusSending || r.Status == StatusRetry || uncertain
	went := func(to Status) {
		r.Status, r.Reason, r.LastError = to, ReasonNone, ""
		if r.SentAt.IsZero() {
			r.SentAt = d.At
		}
		if r.ProviderID == "" {
			r.ProviderID = d.ProviderID
		}
		r.settle()
	}
	switch d.Kind {
	case DeliverySent:
		if !inFlight {
			return r, false
		}
		went(StatusSent)
	case DeliveryDelivered, DeliveryComplained:
		if !inFlight && r.Status != StatusSent {
			return r, false
		}
		went(StatusDelivered)
	case DeliveryBounced, DeliveryFailed:
		reason := d.Reason
		if d.Kind == DeliveryBounced {
			reason = ReasonBounced
		}
		if reason == ReasonNone {
			reason = ReasonRejected
		}
		if !inFlight && r.Status != StatusSent && r.Status != StatusDelivered {
			return r, false
		}
		if r.Status == StatusFailed && r.Reason == reason {
			return r, false
		}
		went(StatusFailed)
		r.Reason = reason
	default:
		return r, false
	}
	return r, true
}

// Deliverability is how a channel of the customer stands for a reader: "ok",
// "bounced" or "complained" (the delivery events closed it until the customer consents
// again), or "suppressed" (the provider refused the address as invalid, or staff found it
// wrong: nothing is sent there).
func (v CustomerView) Deliverability(ch model.Channel) string {
	switch v.Suppressed[ch] {
	case ReasonBounced:
		return "bounced"
	case ReasonComplained:
		return "complained"
	}
	for _, b := range v.BadChannels {
		if b == ch {
			return "suppressed"
		}
	}
	return "ok"
}

// Closure is a channel the delivery events closed: why and when. It holds until the
// customer grants a consent on that channel after At (a re-consent reopens it).
type Closure struct {
	Reason Reason    `json:"reason" dynamodbav:"reason"`
	At     time.Time `json:"at" dynamodbav:"at"`
}

// ApplyClosures fills v.Suppressed from the stored closures, leaving out every channel
// the customer consented to again after it was closed.
func (v *CustomerView) ApplyClosures(cs map[model.Channel]Closure) {
	for ch, c := range cs {
		if c.Reason == ReasonNone {
			continue
		}
		reopened := false
		for _, k := range v.Consents {
			if k.Channel == ch && k.Granted && k.At.After(c.At) {
				reopened = true
			}
		}
		if reopened {
			continue
		}
		if v.Suppressed == nil {
			v.Suppressed = map[model.Channel]Reason{}
		}
		v.Suppressed[ch] = c.Reason
	}
}

// stopWords are the replies that mean "no more marketing" (English, the CN carrier
// convention TD, and 退订 / 取消).
var stopWords = map[string]bool{"STOP": true, "TD": true, "T": true, "UNSUBSCRIBE": true, "退订": true, "取消": true, "STOPALL": true}

// IsStop reports whether an SMS reply is an opt-out keyword ("stop", " TD.", "退订！"):
// the signed webhook and the End User Messaging two-way path decide with it alike.
func IsStop(body string) bool {
	w := strings.ToUpper(strings.TrimFunc(body, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }))
	return stopWords[w]
}

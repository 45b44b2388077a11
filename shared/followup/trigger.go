package followup

import (
	"errors"
	"fmt"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// TriggerKind names what happened to a customer. Rules in the policy react to kinds.
type TriggerKind string

const (
	TriggerNewLead   TriggerKind = "new_lead"
	TriggerKnownLead TriggerKind = "known_lead" // a person we already know sent a lead form: call back
	// TriggerConsentRequested: a known person's form asked for a consent they do not have;
	// a confirmation link goes to a contact we already hold (Channel) — double opt-in.
	TriggerConsentRequested TriggerKind = "consent_requested"
	TriggerNewCustomer      TriggerKind = "new_customer"
	TriggerCustomerContact  TriggerKind = "customer_contact" // the customer wrote or called in ("7-24-72")
	TriggerServiceDone      TriggerKind = "service_completed"
	TriggerSurveyDue        TriggerKind = "survey_due"
	TriggerComplaint        TriggerKind = "complaint"
	TriggerStageEntered     TriggerKind = "stage_entered"
	TriggerTierChanged      TriggerKind = "tier_changed" // To below From means "downgrade risk" (grace period running)
	TriggerBirthday         TriggerKind = "birthday"
	TriggerEffectEnding     TriggerKind = "product_effect_ending" // At is when the effect wears off
	TriggerWeekly           TriggerKind = "weekly"                // calendar triggers: see Calendar
	TriggerMonthly          TriggerKind = "monthly"
	TriggerQuarterly        TriggerKind = "quarterly"
	TriggerAnnual           TriggerKind = "annual"
	TriggerPurchase         TriggerKind = "purchase" // plans nothing by default; cancels win-back
	TriggerOptOut           TriggerKind = "opt_out"
	TriggerErasure          TriggerKind = "erasure"
	TriggerEscalation       TriggerKind = "escalation" // internal: an overdue task's escalation
	TriggerTaskRetry        TriggerKind = "task_retry" // internal: a "no answer" call retried
)

var knownTriggers = map[TriggerKind]bool{
	TriggerNewLead: true, TriggerKnownLead: true, TriggerConsentRequested: true, TriggerNewCustomer: true, TriggerCustomerContact: true, TriggerServiceDone: true,
	TriggerSurveyDue: true, TriggerComplaint: true, TriggerStageEntered: true, TriggerTierChanged: true,
	TriggerBirthday: true, TriggerEffectEnding: true, TriggerWeekly: true, TriggerMonthly: true,
	TriggerQuarterly: true, TriggerAnnual: true, TriggerPurchase: true, TriggerOptOut: true, TriggerErasure: true,
}

// Known reports whether k is a trigger a policy rule may name.
func (k TriggerKind) Known() bool { return knownTriggers[k] }

// ErrInvalidTrigger is returned for a trigger that cannot be planned; callers drop or
// dead-letter it rather than retry.
var ErrInvalidTrigger = errors.New("invalid trigger")

// Trigger is one event about one customer. Ref identifies the occurrence (an event id, a
// service id, the period "2025-W14" for calendar triggers) so that planning the same
// occurrence twice yields the same reminder ids.
type Trigger struct {
	Kind        TriggerKind     `json:"kind"`
	CustomerID  string          `json:"customerId"`
	Ref         string          `json:"ref"`
	At          time.Time       `json:"at"`
	Grade       model.LeadGrade `json:"grade,omitempty"`
	Stage       model.Stage     `json:"stage,omitempty"`
	FromTier    model.Tier      `json:"fromTier,omitempty"`
	ToTier      model.Tier      `json:"toTier,omitempty"`
	ProjectType string          `json:"projectType,omitempty"` // e.g. "aesthetic": picks the 1/3/6-month check-ins
	// Channel is where a consent_requested confirmation goes: the channel of the contact
	// the form matched on the known profile (sms for its phone, email for its e-mail).
	Channel model.Channel `json:"channel,omitempty"`
}

// Validate names the field at fault.
func (t Trigger) Validate() error {
	switch {
	case !t.Kind.Known():
		return fmt.Errorf("%w: kind %q unknown", ErrInvalidTrigger, t.Kind)
	case t.CustomerID == "":
		return fmt.Errorf("%w: customerId empty", ErrInvalidTrigger)
	case t.Ref == "":
		return fmt.Errorf("%w: ref empty (needed to keep re-planning idempotent)", ErrInvalidTrigger)
	case t.At.IsZero():
		return fmt.Errorf("%w: at empty", ErrInvalidTrigger)
	case t.Kind == TriggerStageEntered && t.Stage == "":
		return fmt.Errorf("%w: stage empty for stage_entered", ErrInvalidTrigger)
	case t.Kind == TriggerTierChanged && (t.FromTier.Rank() == 0 || t.ToTier.Rank() == 0 || t.FromTier == t.ToTier):
		return fmt.Errorf("%w: fromTier/toTier must be two different tiers", ErrInvalidTrigger)
	case t.Kind == TriggerConsentRequested && t.Channel != model.ChannelSMS && t.Channel != model.ChannelEmail:
		return fmt.Errorf("%w: channel must be sms or email for consent_requested", ErrInvalidTrigger)
	}
	return nil
}

// Direction is "up" or "down" for tier changes, "" otherwise.
func (t Trigger) Direction() string {
	if t.Kind != TriggerTierChanged {
		return ""
	}
	if t.ToTier.Rank() > t.FromTier.Rank() {
		return "up"
	}
	return "down"
}

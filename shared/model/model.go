package model

import (
	"fmt"
	"time"
)

// Tier is a customer's value tier. The business names them (VIP / Silver / Regular) in
// its policy; the code only ever speaks of A, B and C.
type Tier string

const (
	TierNone Tier = ""
	TierA    Tier = "A"
	TierB    Tier = "B"
	TierC    Tier = "C"
)

// Rank orders tiers so that comparisons read naturally: A outranks B outranks C.
func (t Tier) Rank() int {
	switch t {
	case TierA:
		return 3
	case TierB:
		return 2
	case TierC:
		return 1
	}
	return 0
}

// Stage is the lifecycle stage. Thresholds between stages are policy, not code.
type Stage string

const (
	StageLead     Stage = "lead"
	StageNew      Stage = "new"
	StageActive   Stage = "active"
	StageDormant  Stage = "dormant"
	StageSleeping Stage = "sleeping"
	StageChurned  Stage = "churned"
)

// Role is a staff access level, as in the seeds: 院长级, 医师级, 客服级.
type Role string

const (
	RoleAdmin     Role = "admin"
	RoleClinician Role = "clinician"
	RoleAgent     Role = "agent"
)

// Valid reports whether r is one of the three staff roles.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleClinician || r == RoleAgent }

// CanReadSensitive says who may read or write the medical / psychological section.
func (r Role) CanReadSensitive() bool { return r == RoleAdmin || r == RoleClinician }

// Channel is how a reminder reaches a person.
type Channel string

const (
	ChannelSMS     Channel = "sms"
	ChannelEmail   Channel = "email"
	ChannelCall    Channel = "call" // a staff task: a person makes the call
	ChannelWebhook Channel = "webhook"
)

// Category separates service messages from marketing: consent and frequency caps
// are counted per category.
type Category string

const (
	CategoryService   Category = "service"
	CategoryMarketing Category = "marketing"
)

// LeadGrade is potential × urgency.
type LeadGrade string

const (
	LeadHot  LeadGrade = "hot"
	LeadWarm LeadGrade = "warm"
	LeadCold LeadGrade = "cold"
)

// Money is an amount in minor units (fen, cents, pence). Money is never a float.
type Money int64

// String renders minor units as a decimal with two places, e.g. 123456 → "1234.56".
func (m Money) String() string {
	sign := ""
	v := int64(m)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// Consent is one recorded decision about one purpose on one channel. The latest
// decision wins; withdrawing is always honoured.
type Consent struct {
	Category    Category  `json:"category" dynamodbav:"category"`
	Channel     Channel   `json:"channel" dynamodbav:"channel"`
	Granted     bool      `json:"granted" dynamodbav:"granted"`
	At          time.Time `json:"at" dynamodbav:"at"`
	Source      string    `json:"source" dynamodbav:"source"`
	IP          string    `json:"ip,omitempty" dynamodbav:"ip,omitempty"`
	TextVersion string    `json:"textVersion,omitempty" dynamodbav:"textVersion,omitempty"`
}

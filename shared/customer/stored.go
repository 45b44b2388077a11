package customer

import "time"

// View is a stored profile with what the rest of the system keeps on the same item: the
// tier assignment and its explanation (nightly run, instant rules), the customer-base
// model's prediction and the purchase aggregates. It is what a staff member sees of one
// customer, and what shared/access reads to decide whether they may.
type View struct {
	Profile
	Version    int64          `json:"-"`
	Assignment map[string]any `json:"assignment,omitempty" dynamodbav:"assignment"`
	CLV        map[string]any `json:"clv,omitempty" dynamodbav:"clv"`
	Aggregates map[string]any `json:"aggregates,omitempty" dynamodbav:"aggregates"`
	// MarketingOptOut: the person replied STOP / TD / 退订 or used an unsubscribe link.
	MarketingOptOut bool `json:"marketingOptOut,omitempty" dynamodbav:"marketingOptOut"`
	// Deliverability is how each message channel stands: "ok", "bounced" or "complained"
	// (closed by the delivery events until the customer consents again), "suppressed"
	// (the provider refused the address). Keys email and sms.
	Deliverability map[string]string `json:"deliverability,omitempty" dynamodbav:"-"`
}

// AuditEntry records one read, change, export or erasure of a customer, or an attempt
// on them that was refused (PIPL asks for who, when, from where and what). It holds field
// names, never their values.
type AuditEntry struct {
	CustomerID string    `json:"customerId" dynamodbav:"customerId"`
	At         time.Time `json:"at" dynamodbav:"at"`
	RequestID  string    `json:"requestId" dynamodbav:"requestId"`
	Actor      string    `json:"actor" dynamodbav:"actor"`
	Role       string    `json:"role" dynamodbav:"role"`
	SourceIP   string    `json:"sourceIp,omitempty" dynamodbav:"sourceIp,omitempty"`
	Action     string    `json:"action" dynamodbav:"action"` // read, update, export, erase, contact-conflict, transaction-refused …
	Fields     []string  `json:"fields,omitempty" dynamodbav:"fields,omitempty"`
}

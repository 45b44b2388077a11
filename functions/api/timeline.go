package main

import (
	"time"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
)

// TimelineEntry is one entry of GET /v1/customers/{id}/timeline: what happened (kind),
// when, to the millisecond, and the item. Items keep the field names the staff app has
// always read (functions/web/ui pages/customer.js).
type TimelineEntry struct {
	Kind store.TimelineKind `json:"kind"`
	At   string             `json:"at,omitempty"`
	Item any                `json:"item"`
}

// touchItem is a touch as the timeline shows it.
type touchItem struct {
	CustomerID      string             `json:"customerId"`
	TouchID         string             `json:"touchId"`
	Touch           customer.Touch     `json:"touch"`
	Created         bool               `json:"created"`
	Proposed        *customer.Proposal `json:"proposed,omitempty"`
	Conflicts       []string           `json:"conflicts,omitempty"`
	PendingConsents []model.Consent    `json:"pendingConsents,omitempty"`
	Type            string             `json:"type"` // "touch"
}

// txnItem is a transaction as the timeline shows it.
type txnItem struct {
	model.Txn
	Kind string `json:"kind"` // "txn"
}

// reminderItem is a message or task as the timeline shows it.
type reminderItem struct {
	ID       string               `json:"id"`
	Rule     string               `json:"rule"`
	Trigger  followup.TriggerKind `json:"trigger"`
	Channel  model.Channel        `json:"channel"`
	Category model.Category       `json:"category"`
	Template string               `json:"template"`
	Status   followup.Status      `json:"status"`
	DueAt    time.Time            `json:"dueAt"`
	SentAt   time.Time            `json:"sentAt"`
	Task     *followup.Task       `json:"task"`
	// What became of it: disposition, a reason code from followup.Reasons when it was not
	// sent (or not yet), and until when it is deferred.
	Disposition followup.Disposition `json:"disposition"`
	Reason      followup.Reason      `json:"reason,omitempty"`
	Until       *time.Time           `json:"until,omitempty"`
}

// timelineJSON renders the store's entries for the API.
func timelineJSON(es []store.TimelineEntry) []TimelineEntry {
	out := make([]TimelineEntry, 0, len(es))
	for _, e := range es {
		var item any
		switch {
		case e.Touch != nil:
			t := e.Touch
			item = touchItem{CustomerID: t.CustomerID, TouchID: t.ID, Touch: t.Touch, Created: t.Created, Proposed: t.Proposed,
				Conflicts: t.Conflicts, PendingConsents: t.PendingConsents, Type: "touch"}
		case e.Txn != nil:
			item = txnItem{Txn: *e.Txn, Kind: "txn"}
		case e.TierChange != nil:
			item = e.TierChange
		case e.Reminder != nil:
			r := e.Reminder
			acct := r.Account()
			ri := reminderItem{ID: r.ID, Rule: r.RuleID, Trigger: r.Trigger, Channel: r.Channel, Category: r.Category,
				Template: r.Template, Status: r.Status, DueAt: r.DueAt, SentAt: r.SentAt, Task: r.Task,
				Disposition: acct.Disposition, Reason: acct.Reason}
			if !acct.Until.IsZero() {
				ri.Until = &acct.Until
			}
			item = ri
		default:
			continue
		}
		out = append(out, TimelineEntry{Kind: e.Kind, At: e.At.UTC().Format("2006-01-02T15:04:05.000Z"), Item: item})
	}
	return out
}

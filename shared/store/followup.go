package store

import (
	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/followup/app"
)

// Follow-up is served by one small adapter per port of shared/followup/app, each over the
// table (keys in keys.go, items in docs/data-model.md):
//
//	Reminders       reminders.go  REM#<id> / REM, its pointer CUST#<customer> / REM#<id>, GSI1 while due,
//	                              GSI2 STORETASK#<store> and GSI3 ASSIGNEE#<staff> for tasks
//	Contacts        contacts.go   the profile's contact view, opt-out, bad channels, locale,
//	                              the unsubscribe token UNSUB#<token> / UNIQUE
//	Counters        counters.go   CTR#<key> / CTR: frequency caps, round-robin, TTL expiresAt
//	StaffDirectory  staff.go      STAFF#<store> / <role>#<sub>
//	Alerts          alerts.go     ALERT#<store> / <time>#<task>, TTL 30 days
//	Consents        consent.go    CONSENT#<sha256(token)> / TOKEN (double opt-in)
//	Feedback        feedback.go   CUST#<customer> / FEEDBACK#<ref> with the profile's scores
//
// Which services run over them is the functions' wiring (their main.go, shared/boot); the
// queue the sweep hands reminders to is shared/queue, the links messages carry
// shared/links.
var (
	_ app.Reminders = (*Reminders)(nil)
	_ app.Customers = (*Contacts)(nil)
	_ app.Counters  = (*Counters)(nil)
	_ app.Staff     = (*StaffDirectory)(nil)
	_ app.Alerts    = (*Alerts)(nil)

	_ access.Tasks = (*Reminders)(nil)
)

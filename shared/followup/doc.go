// Package followup owns the follow-up (回访) rules: the cadence table as a versioned policy
// document, planning reminders (staff call tasks and automatic SMS/email) from triggers,
// contact discipline (quiet hours, frequency caps, consent at send time), the reminder
// state machine that makes "one message per reminder" hold whatever the retries, and
// task deadlines and escalation.
//
// It is plain Go: no AWS, no I/O, no clock of its own. Time always comes in as an argument
// so the same rules run in a Lambda, in a unit test and in a 90-day simulation. The
// services that move reminders through storage, queues and providers live in
// followup/app, behind ports that a DynamoDB adapter implements.
//
// The zone database is embedded (time/tzdata) because every due time is computed in the
// customer's own time zone and the Lambda base image is not guaranteed to ship tzdata.
package followup

import _ "time/tzdata"

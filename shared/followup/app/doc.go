// Package app holds the follow-up services the Lambda handlers call: Planner (trigger →
// stored reminders, cancellations), Sweeper (due reminders → queue, overdue tasks →
// escalation), Dispatcher (queue message → exactly one provider send) and Tasks (staff
// outcomes). They own the order of operations that makes the domain's promises hold under
// retries and crashes; storage, queue and providers are reached only through the ports in
// ports.go, implemented in memory by followup/memstore and for AWS by the store adapter.
package app

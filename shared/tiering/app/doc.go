// Package app holds the tiering services the Lambda handlers call, the way followup/app
// does for follow-up:
//
//   - Ingest (ingest.go): one queued transaction → read the profile's tier state, decide
//     with the domain (Decide: the instant rules, the first stage), write the decision as
//     data once per once-key, retrying on a version conflict; then plan its follow-up.
//   - Nightly (nightly.go): the re-tier run's state machine — start once per id, pass 1
//     (quantile summaries and model samples per scan segment), the last finisher merging
//     and fitting the customer-base model (customerbase.go) and queueing pass 2, pass 2
//     (assess, save what moved, per-store summaries), finish.
//   - the retention rule (retention.go): a tier-A customer the model sees at risk gets a
//     retention call;
//   - MoveTriggers (moves.go): the one place a tier or stage move becomes follow-up
//     triggers, for ingest and the night alike.
//
// Storage, the segment queue and the follow-up planner are reached only through the ports
// in ports.go, implemented for DynamoDB by shared/store. No AWS type appears here.
package app

// Package tiering owns the rules that turn a customer's purchases into a value tier
// (A/B/C, named by the business) and a lifecycle stage: per-customer aggregates kept
// incrementally, RFM-T scores by quantiles of the base or by absolute thresholds, the
// versioned policy document that sets every threshold, the mergeable quantile summary the
// nightly run builds per scan segment, instant upgrades at ingest, and the downgrade grace
// that keeps tiers from flickering. It is plain Go: no AWS, no clock of its own — every
// rule takes the as-of time from its caller.
package tiering

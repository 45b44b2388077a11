// Package clv owns the probabilistic customer-base model: BG/NBD (Fader, Hardie & Lee
// 2005, "Counting Your Customers the Easy Way") for whether a customer is still active
// and how often they will buy, and Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV")
// for how much they spend per purchase. From these it derives, per customer, P(alive),
// expected purchases over a horizon, expected spend per purchase, a discounted lifetime
// value and a churn-risk band.
//
// It is plain Go with no I/O and no clock: callers turn purchase histories into
// Summaries against a Calibration, fit a Model (maximum likelihood, optimised over the
// logarithms of the parameters so they stay positive), keep it as JSON, and ask it for
// Predictions. A fit that cannot be trusted returns ErrInsufficientData or
// ErrNotConverged with the reason, so the caller keeps its previous model. Occasions is
// the compact purchase-day record a profile keeps for it, ProfileCLV the prediction a
// profile keeps.
package clv

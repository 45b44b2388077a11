// Package logx owns how every tierflow function logs: one JSON line per event on stdout
// (CloudWatch keeps it as is), the request id taken from the context, and a redaction
// layer in front of the encoder so that phone numbers, e-mail addresses, names and the
// sensitive medical section never reach the log in clear text, even when someone logs
// them by mistake. Redacted values are replaced by a short keyed hash, so two lines about
// the same person can still be correlated without revealing who it is.
package logx

// Package model holds the vocabulary every tierflow package shares: customers, tiers,
// lifecycle stages, channels, consent, money, and the transaction (Txn) that travels from
// the API through the ingest queue into the tier engine and the store in one shape. It has
// no behaviour that belongs to a single rule set (tiering, follow-up, leads own theirs) and
// imports nothing from AWS.
package model

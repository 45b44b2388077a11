// Package model holds the vocabulary every tierflow package shares: customers, tiers,
// lifecycle stages, channels, consent and money. It has no behaviour that belongs to a
// single rule set (tiering, follow-up, leads own theirs) and imports nothing from AWS.
package model

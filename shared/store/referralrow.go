package store

import "github.com/tierflow/tierflow/shared/model"

// ReferralRow is one referee's line of the referral reward ledger the write path keeps at
// ingest: the referee's actual net spend and the reward it earned the referrer, at the
// rate band in basis points (500–1500, tiered by the policy).
//
// MERGE NOTE: branch `night` declares this type (with its dynamodbav tags) in
// shared/store/referrals.go together with Table.Referrals. This file exists only so that
// branch `reports` compiles before that lands: delete it when merging night.
type ReferralRow struct {
	Store      string      `dynamodbav:"store"`
	ReferrerID string      `dynamodbav:"referrerId"`
	RefereeID  string      `dynamodbav:"refereeId"`
	Spend      model.Money `dynamodbav:"spend"`
	Reward     model.Money `dynamodbav:"reward"`
	RateBps    int         `dynamodbav:"rateBps"`
}

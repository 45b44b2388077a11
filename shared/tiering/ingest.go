package tiering

import (
	"fmt"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// AtIngest is the rule a transaction is judged by when it arrives, right after agg took
// it in: the night's assignment stays, an instant rule may lift the tier now (never lower
// it), and a customer who had never bought is no longer a lead. Everything is judged as
// of the latest purchase seen, not the wall clock, so that a history imported years later
// is windowed as the shop lived it; the night re-judges everyone as of its own day.
// agg is compacted to the policy window as of that day.
func AtIngest(p *Policy, agg *Aggregates, prev Assignment, at time.Time) Assignment {
	asOf := at
	if agg.LastPurchase.After(asOf) {
		asOf = agg.LastPurchase
	}
	agg.Compact(p, asOf)
	next, _ := InstantUpgrade(p, agg, prev, asOf)
	if next.Stage == "" || next.Stage == model.StageLead {
		next.Stage = p.StageFor(agg.Metrics(p, asOf))
		if next.PolicyVersion == 0 {
			next.PolicyVersion = p.Version
		}
		if next.Reason == "" {
			next.Reason = fmt.Sprintf("first transaction; tier at the next nightly run, policy v%d", p.Version)
		}
	}
	return next
}

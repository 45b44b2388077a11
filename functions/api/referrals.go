package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
)

type referralsAPI struct {
	*app
	desk referralDesk
}

func newReferralsAPI(a *app) *referralsAPI { return &referralsAPI{app: a, desk: a.desk} }

// ReferralItem is one referrer's line: each referee's spend and the reward it earned,
// the totals, and the referrer's rate (0.05–0.15). Money as decimal strings.
type ReferralItem struct {
	ReferrerID string            `json:"referrerId"`
	Store      string            `json:"store"`
	Referees   []ReferralReferee `json:"referees"`
	Spend      string            `json:"spend"`
	Reward     string            `json:"reward"`
	Rate       float64           `json:"rate"`
}

// ReferralReferee is one referee of a referrer.
type ReferralReferee struct {
	ID     string `json:"id"`
	Spend  string `json:"spend"`
	Reward string `json:"reward"`
}

// list answers the referral ledger of the caller's stores (or ?store=): each referrer's
// referees, their actual spend and the reward earned; ?format=csv is the payout file,
// one line per referee. Managers and admins; ids and money only, no contact data.
func (h *referralsAPI) list(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := access.Require(p, access.ReadReports); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	q := req.QueryStringParameters
	for k := range q {
		if k != "store" && k != "format" {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest(k, "is not a parameter of the referral ledger")
		}
	}
	format := q["format"]
	if format != "" && format != "json" && format != "csv" {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("format", "must be json or csv")
	}
	sc, err := h.acc.Scope(p, q["store"], access.ReadReports)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	rows, err := h.desk.Referrals(ctx, sc)
	if errors.Is(err, store.ErrNoReferralLedger) {
		// There is no ledger to read; a request a caller can send is never a server error.
		return events.APIGatewayV2HTTPResponse{}, httpx.NotFound("Referral reward ledger (this deployment does not keep one yet)")
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if format == "csv" {
		return referralCSV(rows), nil
	}
	return httpx.JSON(http.StatusOK, map[string]any{"items": referralItems(rows)}), nil
}

// referralItems groups ledger rows by referrer, in the ledger's order.
func referralItems(rows []store.ReferralRow) []ReferralItem {
	items := []ReferralItem{}
	var spend, reward model.Money
	for i, r := range rows {
		if i == 0 || r.ReferrerID != rows[i-1].ReferrerID || r.Store != rows[i-1].Store {
			if len(items) > 0 {
				items[len(items)-1].Spend, items[len(items)-1].Reward = spend.String(), reward.String()
			}
			items = append(items, ReferralItem{ReferrerID: r.ReferrerID, Store: r.Store, Referees: []ReferralReferee{}, Rate: float64(r.RateBps) / 10000})
			spend, reward = 0, 0
		}
		it := &items[len(items)-1]
		it.Referees = append(it.Referees, ReferralReferee{ID: r.RefereeID, Spend: r.Spend.String(), Reward: r.Reward.String()})
		spend += r.Spend
		reward += r.Reward
	}
	if len(items) > 0 {
		items[len(items)-1].Spend, items[len(items)-1].Reward = spend.String(), reward.String()
	}
	return items
}

// referralCSV is the payout file: one line per referee, money in major units.
func referralCSV(rows []store.ReferralRow) events.APIGatewayV2HTTPResponse {
	var b strings.Builder
	w := csv.NewWriter(&b)
	lines := [][]string{{"store", "referrerId", "refereeId", "spend", "reward", "rate"}}
	for _, r := range rows {
		lines = append(lines, []string{r.Store, r.ReferrerID, r.RefereeID, r.Spend.String(), r.Reward.String(), strconv.FormatFloat(float64(r.RateBps)/10000, 'f', 4, 64)})
	}
	if err := w.WriteAll(lines); err != nil {
		return httpx.ErrorResponse(fmt.Errorf("referral payout file: %w", err), "")
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: b.String(), Headers: map[string]string{
		"Content-Type": "text/csv; charset=utf-8", "Content-Disposition": `attachment; filename="referrals.csv"`}}
}

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/tiering"
	tapp "github.com/tierflow/tierflow/shared/tiering/app"
)

// reportDesk reads what reports are made of, for what acc resolved (store.Staff).
type reportDesk interface {
	Run(ctx context.Context, r access.Run) (tapp.Run, bool, error)
	AtRisk(ctx context.Context, st access.Store) ([]store.AtRiskRow, error)
}

type reportsAPI struct {
	*app
	desk reportDesk
}

// TierRow is one line of the tier report.
type TierRow struct {
	Tier         string  `json:"tier"`
	Name         string  `json:"name"`
	Customers    int     `json:"customers"`
	Share        float64 `json:"share"`
	Revenue      string  `json:"revenue"`
	RevenueShare float64 `json:"revenueShare"`
}

// MigrationRow is one from → to flow of the migration report.
type MigrationRow struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Customers int    `json:"customers"`
}

// runReports are the reports read from one finished re-tier run's summary.
var runReports = map[string]bool{"tiers": true, "migration": true, "cohorts": true, "funnel": true, "sources": true}

// get serves the reports built from re-tier runs — tiers (distribution, revenue share,
// the Pareto curve and the run itself), migration (the tier matrix of the run against
// the assessment before it), cohorts (retention by first-purchase month and tier),
// funnel (customers per lifecycle stage) and sources (leads, customers and revenue per
// UTM source and campaign) — for the caller's stores, the business for all-stores staff,
// or the one ?store= they ask for (C3); the latest finished run or ?run=. Every figure is
// an aggregate the nightly run kept (a header read, plus one item per store for store
// staff): no page view scans customers. Admins and clinician/managers; no personal data.
func (h *reportsAPI) get(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := access.Require(p, access.ReadReports); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	name := req.PathParameters["name"]
	if name == "at-risk" {
		return h.atRisk(ctx, p, req)
	}
	if !runReports[name] {
		return events.APIGatewayV2HTTPResponse{}, httpx.NotFound("Report")
	}
	q := req.QueryStringParameters
	for k := range q {
		if k != "run" && k != "store" {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest(k, "is not a parameter of this report")
		}
	}
	ref, err := h.acc.Run(p, q["run"], q["store"], access.ReadReports)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	run, found, err := h.desk.Run(ctx, ref)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if !found || run.Status != tapp.RunDone || run.Summary == nil {
		return events.APIGatewayV2HTTPResponse{}, access.NotFound("Finished re-tier run")
	}
	s := run.Summary
	scope := "business"
	if !ref.Scope().All() {
		scope = "stores"
	}
	switch name {
	case "migration":
		return httpx.JSON(http.StatusOK, migrationReport(run, scope)), nil
	case "cohorts":
		rows, err := s.Cohorts.Rows(run.AsOf)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("cohorts of run %s: %w", run.ID, err)
		}
		return httpx.JSON(http.StatusOK, map[string]any{"runId": run.ID, "day": run.Day, "scope": scope, "stores": s.Stores,
			"windowMonths": tiering.CohortMonths, "cohorts": rows}), nil
	case "funnel":
		return httpx.JSON(http.StatusOK, map[string]any{"runId": run.ID, "day": run.Day, "scope": scope, "stores": s.Stores,
			"stages": tiering.Funnel(s.Stages)}), nil
	case "sources":
		return httpx.JSON(http.StatusOK, map[string]any{"runId": run.ID, "day": run.Day, "scope": scope, "stores": s.Stores,
			"rows": s.Sources.Rows()}), nil
	}
	pol, _, err := h.policies.CurrentPolicy(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	tiered := 0
	for _, n := range s.Tiers {
		tiered += n
	}
	rows := []TierRow{}
	for _, t := range []model.Tier{model.TierA, model.TierB, model.TierC} {
		n := s.Tiers[string(t)]
		row := TierRow{Tier: string(t), Name: pol.Name(t), Customers: n, Revenue: s.Revenue[string(t)].String(), RevenueShare: s.RevenueShare[string(t)]}
		if tiered > 0 {
			row.Share = float64(n) / float64(tiered)
		}
		rows = append(rows, row)
	}
	curve := s.Pareto
	if curve == nil {
		curve = []tiering.ParetoPoint{}
	}
	body := map[string]any{
		"runId": run.ID, "day": run.Day, "policyVersion": run.PolicyVersion, "scope": scope, "stores": s.Stores, "tiers": rows,
		"stages": s.Stages, "leads": s.Leads, "totalRevenue": s.TotalRevenue.String(), "top20RevenueShare": s.Top20Share,
		"top20Customers": s.Top20Customers, "top20Method": s.Top20Method,
		"paretoCurve": curve, "paretoMethod": "exact", "lastRun": lastRunOf(run, ref.Scope().All()),
	}
	if s.Top20MaxError > 0 {
		body["top20MaxError"] = s.Top20MaxError
	}
	if s.ParetoMaxError > 0 {
		body["paretoMethod"], body["paretoMaxError"] = "merged from each store's curve", s.ParetoMaxError
	}
	return httpx.JSON(http.StatusOK, body), nil
}

// On-demand DynamoDB prices (docs/scale.md), US dollars per request unit.
const (
	usdPerRRU = 0.125 / 1e6
	usdPerWRU = 0.625 / 1e6
)

// LastRun is the run a report is of: when, how long, what it changed and what it cost.
type LastRun struct {
	ID              string        `json:"id"`
	Day             string        `json:"day"`
	CreatedAt       time.Time     `json:"createdAt"`
	FinishedAt      *time.Time    `json:"finishedAt"`
	DurationSeconds *float64      `json:"durationSeconds"`
	Customers       int           `json:"customers"`
	Changed         int           `json:"changed"`
	RequestUnits    *RequestUnits `json:"requestUnits"`
	EstimatedUSD    *float64      `json:"estimatedUsd"`
}

// RequestUnits is what a run consumed of the table.
type RequestUnits struct {
	RRU float64 `json:"rru"`
	WRU float64 `json:"wru"`
}

// lastRunOf describes a finished run. Customers and changed are of the caller's scope;
// the request units and their cost are the whole run's, for all-stores staff only (a
// store's staff would otherwise read the work done for other stores), and null until
// the run records them.
func lastRunOf(run tapp.Run, business bool) LastRun {
	lr := LastRun{ID: run.ID, Day: run.Day, CreatedAt: run.CreatedAt, FinishedAt: run.FinishedAt,
		Customers: run.Summary.Customers, Changed: run.Summary.Changed}
	if run.FinishedAt != nil {
		d := run.FinishedAt.Sub(run.CreatedAt).Seconds()
		lr.DurationSeconds = &d
	}
	if ru := runUnits(run); business && ru != nil {
		usd := ru.RRU*usdPerRRU + ru.WRU*usdPerWRU
		lr.RequestUnits, lr.EstimatedUSD = ru, &usd
	}
	return lr
}

// migrationReport is the tier matrix of a run against the assessment before it: every
// from (A, B, C, none) × to (A, B, C) cell, stays on the diagonal, summing to the
// customers with a tier. The flows list (changes only, largest first) stays for callers
// of the first version.
func migrationReport(run tapp.Run, scope string) map[string]any {
	s := run.Summary
	into := map[string]int{}
	flows := []MigrationRow{}
	for k, n := range s.Migrations {
		from, to := splitMigration(k)
		flows = append(flows, MigrationRow{From: from, To: to, Customers: n})
		into[to] += n
	}
	sort.Slice(flows, func(i, j int) bool {
		if flows[i].Customers != flows[j].Customers {
			return flows[i].Customers > flows[j].Customers
		}
		return flows[i].From+flows[i].To < flows[j].From+flows[j].To
	})
	matrix := []MigrationRow{}
	customers := 0
	for _, from := range []string{"A", "B", "C", "none"} {
		for _, to := range []string{"A", "B", "C"} {
			n := s.Migrations[from+">"+to]
			if from == to {
				n = s.Tiers[to] - into[to]
			}
			customers += n
			matrix = append(matrix, MigrationRow{From: from, To: to, Customers: n})
		}
	}
	var prev any
	if run.PreviousRunID != "" {
		prev = run.PreviousRunID
	}
	return map[string]any{"runId": run.ID, "previousRunId": prev, "day": run.Day, "scope": scope, "stores": s.Stores,
		"customers": customers, "matrix": matrix, "tierChanges": s.TierChanges, "flows": flows}
}

func splitMigration(k string) (string, string) {
	for i := 0; i < len(k); i++ {
		if k[i] == '>' {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}

// AtRiskItem is one line of the at-risk report: ids, tier and the model's view, no
// contact data. Money is in major units as a decimal string.
type AtRiskItem struct {
	ID                string  `json:"id"`
	Tier              string  `json:"tier"`
	Stage             string  `json:"stage"`
	PAlive            float64 `json:"pAlive"`
	Risk              string  `json:"risk"`
	ExpectedPurchases float64 `json:"expectedPurchases90d"`
	CLV               string  `json:"clv12m"`
	ExpectedLoss      string  `json:"expectedLoss"`
	Explanation       string  `json:"explanation"`
	ModelVersion      string  `json:"modelVersion"`
	At                string  `json:"at"`
}

// atRisk lists a store's high-value customers (tier A or B, or a 12-month CLV of at
// least ?minClv) by expected loss = CLV × (1 − P(alive)), largest first: the value that
// leaves with the customers most likely gone, among the app.AtRiskKept largest losses the
// last nightly run kept for the store. ?limit (1–100, default 50) and the opaque ?cursor
// page through it. Admins and clinician/managers, for a store they may see.
func (h *reportsAPI) atRisk(ctx context.Context, p auth.Principal, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	q := req.QueryStringParameters
	for k := range q {
		switch k {
		case "store", "limit", "cursor", "minClv":
		default:
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest(k, "is not a parameter of this report")
		}
	}
	st, err := h.acc.Store(p, q["store"], nil, access.ReadReports)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	limit, err := limitParam(q)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	minCLV := model.Money(-1) // none: tiers A and B only
	if s := q["minClv"]; s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || v > 1e15 {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("minClv", "must be an amount of at least 0")
		}
		minCLV = model.Money(math.Round(v * 100))
	}
	after, err := parseLossCursor(q["cursor"])
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("cursor", "is not a cursor of this report")
	}
	rows, err := h.desk.AtRisk(ctx, st)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	keep := rows[:0]
	for _, r := range rows {
		if r.Tier == model.TierA || r.Tier == model.TierB || (minCLV >= 0 && r.CLV.CLV >= minCLV) {
			keep = append(keep, r)
		}
	}
	rows = keep
	sort.Slice(rows, func(i, j int) bool { return tapp.LossBefore(rows[i], rows[j]) })
	start := 0
	if after != nil {
		start = sort.Search(len(rows), func(i int) bool { return tapp.LossBefore(*after, rows[i]) })
	}
	page := rows[start:min(start+limit, len(rows))]
	items := make([]AtRiskItem, len(page))
	for i, r := range page {
		items[i] = AtRiskItem{ID: r.ID, Tier: string(r.Tier), Stage: string(r.Stage), PAlive: r.CLV.PAlive, Risk: string(r.CLV.Risk),
			ExpectedPurchases: r.CLV.ExpectedPurchases, CLV: r.CLV.CLV.String(), ExpectedLoss: r.ExpectedLoss.String(),
			Explanation: r.CLV.Explanation, ModelVersion: r.CLV.ModelVersion, At: r.CLV.At}
	}
	body := map[string]any{"store": st.ID(), "measure": "expectedLoss = clv12m × (1 − pAlive)", "total": len(rows), "items": items}
	if start+limit < len(rows) {
		last := page[len(page)-1]
		body["nextCursor"] = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(int64(last.ExpectedLoss), 10) + "|" + last.ID))
	}
	return httpx.JSON(http.StatusOK, body), nil
}

func parseLossCursor(c string) (*store.AtRiskRow, error) {
	if c == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, err
	}
	loss, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(loss, 10, 64)
	if !ok || err != nil || id == "" {
		return nil, strconv.ErrSyntax
	}
	return &store.AtRiskRow{ID: id, ExpectedLoss: model.Money(n)}, nil
}

// runUnits is what the run recorded it consumed (the summary's "rru" and "wru", which
// the nightly run's segments add up), nil when it did not (runs before it counted). The
// summary is read through its JSON names so the report follows the write path's fields
// without sharing their Go declaration.
func runUnits(run tapp.Run) *RequestUnits {
	if run.Summary == nil {
		return nil
	}
	b, err := json.Marshal(run.Summary)
	if err != nil {
		return nil
	}
	var u RequestUnits
	if json.Unmarshal(b, &u) != nil || u.RRU+u.WRU == 0 {
		return nil
	}
	return &u
}

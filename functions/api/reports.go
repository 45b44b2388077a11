package main

import (
	"context"
	"net/http"
	"sort"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/env"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
)

func init() {
	areas = append(areas, func(a *app, r *httpx.Router, _ *env.Reader) {
		h := &reportsAPI{a}
		r.Handle("GET /v1/reports/{name}", h.get)
	})
}

type reportsAPI struct{ *app }

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

// get serves the reports built from re-tier runs: tiers (distribution and revenue share,
// latest run or ?run=) and migration (who moved between the run's previous assessment
// and the run). Admins and clinician/managers read them; they hold no personal data.
func (h *reportsAPI) get(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if err := requireRole(req, model.RoleAdmin, model.RoleClinician); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	name := req.PathParameters["name"]
	if name != "tiers" && name != "migration" {
		return events.APIGatewayV2HTTPResponse{}, httpx.NotFound("Report")
	}
	run, err := h.run(ctx, req.QueryStringParameters["run"])
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	s := run.Summary
	pol, _, err := h.table.CurrentPolicy(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if name == "migration" {
		rows := []MigrationRow{}
		for k, n := range s.Migrations {
			from, to := splitMigration(k)
			rows = append(rows, MigrationRow{From: from, To: to, Customers: n})
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].Customers > rows[j].Customers })
		return httpx.JSON(http.StatusOK, map[string]any{"runId": run.ID, "day": run.Day, "tierChanges": s.TierChanges, "flows": rows}), nil
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
	return httpx.JSON(http.StatusOK, map[string]any{
		"runId": run.ID, "day": run.Day, "policyVersion": run.PolicyVersion, "tiers": rows,
		"stages": s.Stages, "leads": s.Leads, "totalRevenue": s.TotalRevenue.String(), "top20RevenueShare": s.Top20Share,
	}), nil
}

func (h *reportsAPI) run(ctx context.Context, id string) (store.Run, error) {
	if id == "" {
		latest, err := h.table.LatestRunID(ctx)
		if err != nil {
			return store.Run{}, err
		}
		if latest == "" {
			return store.Run{}, httpx.NotFound("Finished re-tier run")
		}
		id = latest
	}
	run, found, err := h.table.GetRun(ctx, id)
	if err != nil {
		return store.Run{}, err
	}
	if !found || run.Status != store.RunDone || run.Summary == nil {
		return store.Run{}, httpx.NotFound("Finished re-tier run")
	}
	return run, nil
}

func splitMigration(k string) (string, string) {
	for i := 0; i < len(k); i++ {
		if k[i] == '>' {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}

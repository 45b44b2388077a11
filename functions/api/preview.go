package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/tiering"
	tapp "github.com/tierflow/tierflow/shared/tiering/app"
)

// Bounds of a preview (docs/tiering.md, "Policy preview"): bases up to exactUpTo
// customers are replayed whole; larger ones from whole random scan segments of about
// perSegment profiles until sampleSize are read, so 1 M customers cost the same as 20,000.
const (
	previewExactUpTo  = 20000
	previewSample     = 20000
	previewPerSegment = 1000
	previewParallel   = 4
	previewBudget     = 15 * time.Second // of the api function's 29 s: then the segments read are the sample
	previewHorizon    = 30 * 24 * time.Hour
)

// previewDesk reads the base a preview replays (store.Staff).
type previewDesk interface {
	PreviewBase(ctx context.Context, sc access.Scope, lim store.PreviewLimits) (store.PreviewRead, error)
}

type previewAPI struct {
	*app
	desk    previewDesk
	cadence followup.Policy
	// cadenceErr: the embedded cadence policy did not parse (wire fails on it first).
	cadenceErr error
	limits     store.PreviewLimits
}

func newPreviewAPI(a *app) *previewAPI {
	p, err := followup.DefaultPolicy()
	return &previewAPI{app: a, desk: a.desk, cadence: p, cadenceErr: err, limits: store.PreviewLimits{ExactUpTo: previewExactUpTo,
		Sample: previewSample, PerSegment: previewPerSegment, Parallel: previewParallel, Budget: previewBudget, RandomOrder: rand.Perm}}
}

// PreviewResponse is what a proposed policy would do to the caller's customers.
type PreviewResponse struct {
	Customers int                  `json:"customers"`
	Changed   int                  `json:"changed"`
	Matrix    []tiering.MatrixCell `json:"matrix"`
	FollowUp  PreviewFollowUp      `json:"followUp"`
	Method    string               `json:"method"` // "exact" | "sample"
	// SampleSize is how many profiles were replayed (the whole base when exact); Error
	// the 95 % margin of Changed in customers (0 when exact).
	SampleSize int      `json:"sampleSize"`
	Error      float64  `json:"error"`
	Scope      string   `json:"scope"`
	Stores     []string `json:"stores,omitempty"`
	AsOf       string   `json:"asOf"`
}

// PreviewFollowUp is the follow-up the moves would plan in the next 30 days.
type PreviewFollowUp struct {
	Messages30d int `json:"messages30d"`
	Calls30d    int `json:"calls30d"`
}

// preview replays a proposed policy over the current customer base with the night's
// engine, read only: the current → proposed tier matrix, how many customers change tier
// or stage, and the messages and calls the cadence rules would plan for those moves in
// the next 30 days (as if every customer could receive every message: consent is checked
// when one is sent). Admins; the counts are of the caller's stores (or ?store=), the cut
// points over the whole base as at night.
func (h *previewAPI) preview(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := access.Require(p, access.ReadPolicy); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	q := req.QueryStringParameters
	for k := range q {
		if k != "store" {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest(k, "is not a parameter of the preview")
		}
	}
	sc, err := h.acc.Scope(p, q["store"], access.ReadPolicy)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	pol, err := policyFromBody(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	base, err := h.desk.PreviewBase(ctx, sc, h.limits)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	asOf := h.now().In(h.zone)
	cs := make([]tiering.PreviewCustomer, len(base.States))
	stores := map[string]string{}
	for i := range base.States {
		st := &base.States[i]
		cs[i] = tiering.PreviewCustomer{ID: st.ID, Agg: &st.Aggregates, Current: st.Assignment, InScope: sc.Has(st.Store)}
		stores[st.ID] = st.Store
	}
	out, err := tiering.Replay(pol, asOf, cs)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	fu, err := h.followUp(out.Moves, stores, asOf)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	resp := PreviewResponse{Customers: out.Customers, Changed: out.Changed, Matrix: out.Matrix, FollowUp: fu, Method: "exact",
		SampleSize: len(base.States), Scope: "business", AsOf: asOf.Format(time.RFC3339)}
	if !sc.All() {
		resp.Scope, resp.Stores = "stores", sc.Stores()
	}
	if !base.Exact && out.Customers > 0 {
		// Scale the sample's counts to the scope's size at the latest run.
		n := base.ScopeCustomers
		counts := make([]int, len(out.Matrix))
		for i, c := range out.Matrix {
			counts[i] = c.Customers
		}
		for i, v := range tiering.ScaleCounts(counts, n) {
			resp.Matrix[i].Customers = v
		}
		scale := float64(n) / float64(out.Customers)
		resp.Method, resp.Customers = "sample", n
		resp.Changed = int(float64(out.Changed)*scale + 0.5)
		resp.FollowUp = PreviewFollowUp{Messages30d: int(float64(fu.Messages30d)*scale + 0.5), Calls30d: int(float64(fu.Calls30d)*scale + 0.5)}
		resp.Error = tiering.SampleMargin(out.Changed, out.Customers, n)
	}
	h.log.InfoContext(ctx, "policy preview", "method", resp.Method, "read", len(base.States), "segments", base.Read, "of", base.Segments)
	return httpx.JSON(http.StatusOK, resp), nil
}

// followUp counts what the cadence rules would plan for the moves within the horizon:
// the same triggers the night raises (tapp.MoveTriggers) planned by followup.PlanTrigger
// for a customer reachable on every channel.
func (h *previewAPI) followUp(moves []tiering.PreviewMove, stores map[string]string, asOf time.Time) (PreviewFollowUp, error) {
	var fu PreviewFollowUp
	if h.cadenceErr != nil {
		return fu, h.cadenceErr
	}
	var consents []model.Consent
	for _, cat := range []model.Category{model.CategoryService, model.CategoryMarketing} {
		for _, ch := range []model.Channel{model.ChannelSMS, model.ChannelEmail, model.ChannelCall} {
			consents = append(consents, model.Consent{Category: cat, Channel: ch, Granted: true, At: asOf.Add(-time.Hour), Source: "preview"})
		}
	}
	until := asOf.Add(previewHorizon)
	for _, m := range moves {
		view := followup.CustomerView{ID: m.ID, Store: stores[m.ID], Tier: m.ToTier, Stage: m.ToStage,
			Phone: "+8613800000000", Email: "preview@example.com", Consents: consents}
		for _, t := range tapp.MoveTriggers(tapp.Move{CustomerID: m.ID, At: asOf, FromTier: m.FromTier, ToTier: m.ToTier,
			FromStage: m.FromStage, ToStage: m.ToStage, RunID: "preview"}) {
			plan, err := followup.PlanTrigger(h.cadence, t, view, asOf)
			if err != nil {
				return fu, err
			}
			for _, r := range plan.Reminders {
				if r.DueAt.After(until) {
					continue
				}
				if r.Channel == model.ChannelCall {
					fu.Calls30d++
				} else {
					fu.Messages30d++
				}
			}
		}
	}
	return fu, nil
}

package main

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/store"
)

// tallyReader reads the counts the messaging path keeps per store and period
// (store.Tallies): one Query per day or month, never a scan per view.
type tallyReader interface {
	Read(ctx context.Context, periods []string, sc access.Scope) ([]store.TallyRow, error)
}

// followupReports answers the follow-up, message and feedback reports (issue #12).
type followupReports struct {
	acc                   *access.Layer
	tasks, msgs, feedback tallyReader
	zone                  *time.Location
	now                   func() time.Time
}

func newFollowupReports(a *app) *followupReports {
	return &followupReports{acc: a.acc, tasks: a.tallies["followup"], msgs: a.tallies["msg"], feedback: a.tallies["feedback"], zone: a.zone, now: a.now}
}

// maxReportDays bounds GET /v1/reports/messages (one Query per day).
const maxReportDays = 92

// scope reads the caller and the stores the report answers for (the one asked for, else
// every store they cover); only the parameters listed are accepted.
func (h *followupReports) scope(req events.APIGatewayV2HTTPRequest, params ...string) (access.Scope, error) {
	p, err := auth.FromRequest(req)
	if err != nil {
		return access.Scope{}, err
	}
	for k := range req.QueryStringParameters {
		if k != "store" && !slices.Contains(params, k) {
			return access.Scope{}, httpx.BadRequest(k, "is not a parameter of this report")
		}
	}
	return h.acc.Scope(p, req.QueryStringParameters["store"], access.ReadReports)
}

// FollowupRow is one staff member's month in one store (the seeds' red/black list).
type FollowupRow struct {
	Store     string `json:"store"`
	Staff     string `json:"staff"`
	Done      int64  `json:"done"`
	OnTime    int64  `json:"onTime"`
	Overdue   int64  `json:"overdue"`
	Escalated int64  `json:"escalated"`
}

// followup answers GET /v1/reports/followup?month=YYYY-MM (default this month).
func (h *followupReports) followup(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	sc, err := h.scope(req, "month")
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	month := req.QueryStringParameters["month"]
	if month == "" {
		month = h.now().In(h.zone).Format("2006-01")
	}
	if _, err := time.Parse("2006-01", month); err != nil {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("month", "must be YYYY-MM")
	}
	rows, err := h.tasks.Read(ctx, []string{month}, sc)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	byKey := map[[2]string]*FollowupRow{}
	out := []FollowupRow{}
	for _, r := range rows {
		for k, n := range r.Counts {
			staff, metric, ok := strings.Cut(k, "|")
			if !ok {
				continue
			}
			fr := byKey[[2]string{r.Store, staff}]
			if fr == nil {
				fr = &FollowupRow{Store: r.Store, Staff: staff}
				byKey[[2]string{r.Store, staff}] = fr
			}
			switch metric {
			case "done":
				fr.Done += n
			case "onTime":
				fr.OnTime += n
			case "overdue":
				fr.Overdue += n
			case "escalated":
				fr.Escalated += n
			}
		}
	}
	for _, fr := range byKey {
		out = append(out, *fr)
	}
	slices.SortFunc(out, func(a, b FollowupRow) int {
		if c := strings.Compare(a.Store, b.Store); c != 0 {
			return c
		}
		return strings.Compare(a.Staff, b.Staff)
	})
	return httpx.JSON(200, map[string]any{"month": month, "rows": out}), nil
}

// MessageRow is one channel and category over the period.
type MessageRow struct {
	Channel         string  `json:"channel"`
	Category        string  `json:"category"`
	Sent            int64   `json:"sent"`
	Delivered       int64   `json:"delivered"`
	OptOuts         int64   `json:"optOuts"`
	Complaints      int64   `json:"complaints"`
	OptOutPer10k    float64 `json:"optOutPer10k"`
	ComplaintPer10k float64 `json:"complaintPer10k"`
}

// NotSentRow is the messages not sent for one reason on one day.
type NotSentRow struct {
	Day    string `json:"day"`
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
}

// messages answers GET /v1/reports/messages?from=YYYY-MM-DD&to=YYYY-MM-DD (default the
// last 30 days, at most 92).
func (h *followupReports) messages(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	sc, err := h.scope(req, "from", "to")
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	q := req.QueryStringParameters
	today := h.now().In(h.zone)
	to, from := today, today.AddDate(0, 0, -29)
	if q["to"] != "" {
		if to, err = time.ParseInLocation(time.DateOnly, q["to"], h.zone); err != nil {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("to", "must be YYYY-MM-DD")
		}
		if q["from"] == "" {
			from = to.AddDate(0, 0, -29)
		}
	}
	if q["from"] != "" {
		if from, err = time.ParseInLocation(time.DateOnly, q["from"], h.zone); err != nil {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("from", "must be YYYY-MM-DD")
		}
	}
	if to.Before(from) {
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("to", "must not be before from")
	}
	var days []string
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		days = append(days, d.Format(time.DateOnly))
		if len(days) > maxReportDays {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("from", "the period is at most 92 days")
		}
	}
	rows, err := h.msgs.Read(ctx, days, sc)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	byKey := map[[2]string]*MessageRow{}
	notSent := map[[2]string]int64{}
	for _, r := range rows {
		for k, n := range r.Counts {
			parts := strings.Split(k, "|")
			switch {
			case len(parts) == 2 && parts[0] == "notSent":
				notSent[[2]string{r.Period, parts[1]}] += n
			case len(parts) == 4 && parts[0] == "msg":
				mr := byKey[[2]string{parts[1], parts[2]}]
				if mr == nil {
					mr = &MessageRow{Channel: parts[1], Category: parts[2]}
					byKey[[2]string{parts[1], parts[2]}] = mr
				}
				switch parts[3] {
				case "sent":
					mr.Sent += n
				case "delivered":
					mr.Delivered += n
				case "optOuts":
					mr.OptOuts += n
				case "complaints":
					mr.Complaints += n
				}
			}
		}
	}
	out := []MessageRow{}
	for _, mr := range byKey {
		if base := max(mr.Sent, mr.Delivered); base > 0 {
			mr.OptOutPer10k = math.Round(float64(mr.OptOuts)/float64(base)*10000*10) / 10
			mr.ComplaintPer10k = math.Round(float64(mr.Complaints)/float64(base)*10000*10) / 10
		}
		out = append(out, *mr)
	}
	slices.SortFunc(out, func(a, b MessageRow) int {
		return strings.Compare(a.Channel+"|"+a.Category, b.Channel+"|"+b.Category)
	})
	ns := []NotSentRow{}
	for k, n := range notSent {
		ns = append(ns, NotSentRow{Day: k[0], Reason: k[1], Count: n})
	}
	slices.SortFunc(ns, func(a, b NotSentRow) int { return strings.Compare(a.Day+"|"+a.Reason, b.Day+"|"+b.Reason) })
	return httpx.JSON(200, map[string]any{"from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly), "rows": out, "notSent": ns}), nil
}

// FeedbackMonth is one month of survey answers.
type FeedbackMonth struct {
	Month     string   `json:"month"`
	Responses int64    `json:"responses"`
	CSAT      *float64 `json:"csat"` // % of CSAT answers that are 4 or 5; null without answers
	NPS       *float64 `json:"nps"`  // % promoters − % detractors; null without answers
}

// feedback answers GET /v1/reports/feedback?months=N (default 12, at most 36), oldest first.
func (h *followupReports) feedbackReport(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	sc, err := h.scope(req, "months")
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	n := 12
	if m := req.QueryStringParameters["months"]; m != "" {
		v, perr := time.ParseDuration(m + "h") // digits only: reject anything else below
		if perr != nil || strings.ContainsAny(m, ".-+e") || v < time.Hour || v > 36*time.Hour {
			return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("months", "must be a number from 1 to 36")
		}
		n = int(v / time.Hour)
	}
	now := h.now().UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var months []string
	for i := n - 1; i >= 0; i-- {
		months = append(months, first.AddDate(0, -i, 0).Format("2006-01"))
	}
	rows, err := h.feedback.Read(ctx, months, sc)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	sum := map[string]map[string]int64{}
	for _, r := range rows {
		if sum[r.Period] == nil {
			sum[r.Period] = map[string]int64{}
		}
		for k, v := range r.Counts {
			sum[r.Period][k] += v
		}
	}
	out := make([]FeedbackMonth, 0, len(months))
	for _, m := range months {
		c := sum[m]
		fm := FeedbackMonth{Month: m, Responses: c["responses"]}
		if c["csatN"] > 0 {
			v := math.Round(float64(c["csatSatisfied"])/float64(c["csatN"])*1000) / 10
			fm.CSAT = &v
		}
		if c["npsN"] > 0 {
			v := math.Round(float64(c["promoters"]-c["detractors"])/float64(c["npsN"])*1000) / 10
			fm.NPS = &v
		}
		out = append(out, fm)
	}
	return httpx.JSON(200, map[string]any{"months": out}), nil
}

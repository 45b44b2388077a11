package main

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/feedback"
	"github.com/tierflow/tierflow/shared/followup"
	fapp "github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/htmlx"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
)

// surveyPageHTML is the survey form for a link (token, ref), or its outcome once done.
func surveyPageHTML(token, ref string, done bool) string {
	const title, width = "满意度调查 / Survey", "36rem"
	if done {
		return page(title, width, `<h1>谢谢！· Thank you!</h1><p>我们已收到您的反馈。 We have your answer.</p>`)
	}
	var b strings.Builder
	scale := func(name string, lo, hi int) {
		for n := lo; n <= hi; n++ {
			v := strconv.Itoa(n)
			b.WriteString(`<label><input type="radio" name="` + name + `" value="` + v + `"> ` + v + `</label> `)
		}
	}
	b.WriteString(`<h1>您对本次服务满意吗？· How was your visit?</h1>
<form method="post" action="/v1/feedback?t=` + htmlx.QueryValue(token) + `&amp;r=` + htmlx.QueryValue(ref) + `">
<fieldset><legend>满意度 Satisfaction (1–5)</legend>
`)
	scale("csat", 1, 5)
	b.WriteString(`</fieldset>
<fieldset><legend>您向朋友推荐我们的可能性 How likely are you to recommend us? (0–10)</legend>
`)
	scale("nps", 0, 10)
	b.WriteString(`</fieldset>
<p><button type="submit">提交 · Send</button></p>
</form>`)
	return page(title, width, b.String())
}

// survey resolves a survey link: ?t= names the customer (their unsubscribe token) and
// ?r= the survey reminder dispatch sent them (shared/links builds both). Only a
// survey actually sent to that customer counts, for 30 days after it was sent: anything
// else — an unknown token, an invented or another customer's reference, a message that
// is no survey or was never sent — is the same 404, and a closed survey is a 410.
func (in *inbound) survey(ctx context.Context, req events.APIGatewayV2HTTPRequest) (customerID, ref string, err error) {
	ref = strings.TrimSpace(req.QueryStringParameters["r"])
	if ref == "" || len(ref) > 80 {
		return "", "", httpx.BadRequest("r", "the survey link is missing its reference")
	}
	customerID, err = in.customerByToken(ctx, req, "Survey")
	if err != nil {
		return "", "", err
	}
	rem, err := in.reminders.Get(ctx, ref)
	switch {
	case errors.Is(err, fapp.ErrNotFound):
		return "", "", httpx.NotFound("Survey")
	case err != nil:
		return "", "", err
	}
	switch err := rem.AcceptsAnswer(customerID, in.now()); {
	case errors.Is(err, followup.ErrSurveyClosed):
		return "", "", httpx.Gone("This survey has closed.")
	case err != nil:
		return "", "", httpx.NotFound("Survey")
	}
	return customerID, ref, nil
}

// surveyPage answers GET /v1/feedback?t=&r=: the survey form (a GET records nothing).
func (in *inbound) surveyPage(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if _, _, err := in.survey(ctx, req); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return htmlPage(http.StatusOK, surveyPageHTML(req.QueryStringParameters["t"], req.QueryStringParameters["r"], false)), nil
}

// SurveyAnswer is the JSON form of an answer; the HTML form posts the same names.
type SurveyAnswer struct {
	CSAT *int `json:"csat"`
	NPS  *int `json:"nps"`
}

func parseScore(field, s string, lo, hi int) (*int, error) {
	if s == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < lo || n > hi {
		return nil, httpx.BadRequest(field, "must be a whole number from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
	}
	return &n, nil
}

// surveyAnswer answers POST /v1/feedback?t=&r=: the scores move the customer's emotion
// account and latest CSAT/NPS once per survey, and a low score (CSAT ≤ 2 or NPS ≤ 6)
// opens a manager complaint task with a 24 h deadline.
func (in *inbound) surveyAnswer(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	id, ref, err := in.survey(ctx, req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var a SurveyAnswer
	form := httpx.IsForm(req)
	if form {
		v, err := httpx.DecodeForm(req, 4<<10)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if a.CSAT, err = parseScore("csat", v.Get("csat"), 1, 5); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if a.NPS, err = parseScore("nps", v.Get("nps"), 0, 10); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
	} else if err := httpx.DecodeJSON(req, &a, 4<<10); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var r feedback.Response
	var bad []httpx.FieldError
	if a.CSAT != nil {
		c := feedback.CSAT(*a.CSAT)
		if c.Validate() != nil {
			bad = append(bad, httpx.FieldError{Field: "csat", Reason: "must be from 1 to 5"})
		}
		r.CSAT = &c
	}
	if a.NPS != nil {
		n := feedback.NPS(*a.NPS)
		if n.Validate() != nil {
			bad = append(bad, httpx.FieldError{Field: "nps", Reason: "must be from 0 to 10"})
		}
		r.NPS = &n
	}
	if a.CSAT == nil && a.NPS == nil {
		bad = append(bad, httpx.FieldError{Field: "csat", Reason: "give a satisfaction score (1–5) or a recommendation score (0–10)"})
	}
	if len(bad) > 0 {
		return events.APIGatewayV2HTTPResponse{}, httpx.Invalid(bad...)
	}
	now := in.now()
	recorded, err := in.feedback.Record(ctx, id, ref, now, r)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	complaint := false
	if recorded {
		pr, err := in.planner.SurveyAnswered(ctx, id, ref, now, r)
		if err != nil && !errors.Is(err, feedback.ErrOutOfRange) {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		complaint = len(pr.Created) > 0
	}
	in.log.InfoContext(logx.WithRequestID(ctx, httpx.RequestID(req)), "survey answer", "recorded", recorded, "complaint", r.Complaint())
	if form {
		return htmlPage(http.StatusOK, surveyPageHTML("", "", true)), nil
	}
	return httpx.JSON(http.StatusOK, map[string]any{"recorded": recorded, "complaintTask": complaint}), nil
}

package main

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/notify"
)

// SMSReply is an inbound SMS as the provider's webhook posts it (signed like outgoing
// webhooks: X-Tierflow-Timestamp and X-Tierflow-Signature over "<ts>.<body>").
type SMSReply struct {
	MessageID string `json:"messageId"`
	From      string `json:"from"` // E.164
	Body      string `json:"body"`
}

const smsMaxSkew = 5 * time.Minute

func (in *inbound) smsInbound(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	raw, err := httpx.Body(req, 8<<10)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	ts := httpx.Header(req, "X-Tierflow-Timestamp")
	sec, _ := strconv.ParseInt(ts, 10, 64)
	if len(in.smsSecret) < 16 || !notify.Verify(in.smsSecret, ts, raw, httpx.Header(req, "X-Tierflow-Signature")) {
		return events.APIGatewayV2HTTPResponse{}, httpx.Unauthorized("signature does not match")
	}
	if d := in.now().Sub(time.Unix(sec, 0)); d > smsMaxSkew || d < -smsMaxSkew {
		return events.APIGatewayV2HTTPResponse{}, httpx.Unauthorized("timestamp outside the allowed window")
	}
	var m SMSReply
	if err := httpx.UnmarshalStrict(raw, &m); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	switch {
	case m.MessageID == "":
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("messageId", "required")
	case !strings.HasPrefix(m.From, "+") || len(m.From) < 8:
		return events.APIGatewayV2HTTPResponse{}, httpx.BadRequest("from", "must be an E.164 number")
	}
	rctx := logx.WithRequestID(ctx, httpx.RequestID(req))
	// The same decision as End User Messaging's two-way SMS in the delivery function.
	res, err := in.replies.SMS(ctx, m.From, m.Body, m.MessageID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	switch {
	case !res.Known:
		in.log.InfoContext(rctx, "sms reply from an unknown number", "stop", followup.IsStop(m.Body))
		return httpx.JSON(200, map[string]any{"optedOut": false}), nil
	case res.OptedOut:
		in.log.InfoContext(rctx, "marketing opt-out", "source", "sms")
		return httpx.JSON(200, map[string]any{"optedOut": true}), nil
	}
	in.log.InfoContext(rctx, "sms reply planned as customer contact")
	return httpx.JSON(200, map[string]any{"optedOut": false, "contactPlanned": true}), nil
}

package main

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/logx"
	"github.com/tierflow/tierflow/shared/notify"
	"github.com/tierflow/tierflow/shared/store"
)

// SMSReply is an inbound SMS as the provider's webhook posts it (signed like outgoing
// webhooks: X-Tierflow-Timestamp and X-Tierflow-Signature over "<ts>.<body>").
type SMSReply struct {
	MessageID string `json:"messageId"`
	From      string `json:"from"` // E.164
	Body      string `json:"body"`
}

// stopWords are the replies that mean "no more marketing" (English, the CN carrier
// convention TD, and 退订 / 取消).
var stopWords = map[string]bool{"STOP": true, "TD": true, "T": true, "UNSUBSCRIBE": true, "退订": true, "取消": true, "STOPALL": true}

// IsStop reports whether an SMS body is an opt-out keyword ("stop", " TD.", "退订！").
func IsStop(body string) bool {
	w := strings.ToUpper(strings.TrimFunc(body, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }))
	return stopWords[w]
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
	id, err := in.contacts.CustomerByPhone(ctx, m.From)
	if errors.Is(err, store.ErrNotFound) {
		in.log.InfoContext(rctx, "sms reply from an unknown number", "stop", IsStop(m.Body))
		return httpx.JSON(200, map[string]any{"optedOut": false}), nil
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if IsStop(m.Body) {
		if err := in.optOut(ctx, id, "sms"); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		in.log.InfoContext(rctx, "marketing opt-out", "source", "sms")
		return httpx.JSON(200, map[string]any{"optedOut": true}), nil
	}
	// Anything else is the customer reaching out: reply within 24 h, resolve within 72 h.
	if _, err := in.planner.Handle(ctx, followup.Trigger{Kind: followup.TriggerCustomerContact, CustomerID: id, Ref: "sms:" + m.MessageID, At: in.now()}); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	in.log.InfoContext(rctx, "sms reply planned as customer contact")
	return httpx.JSON(200, map[string]any{"optedOut": false, "contactPlanned": true}), nil
}

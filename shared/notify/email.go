package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
)

// SESAPI is the part of the SES v2 client Email uses.
type SESAPI interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Email sends through SES v2: HTML and text parts, and the RFC 8058 one-click
// unsubscribe headers on every message that has an unsubscribe URL.
type Email struct {
	Client           SESAPI
	From             string
	ConfigurationSet string
}

// HeaderReminder carries the reminder id, so a delivered mail can be traced to its
// reminder (and duplicates would be visible) without any personal data.
const HeaderReminder = "X-Tierflow-Reminder"

// Send implements Channel.
func (e *Email) Send(ctx context.Context, m app.Outgoing) (string, error) {
	if m.To == "" {
		return "", fmt.Errorf("email %s: no address: %w", m.ReminderID, app.ErrPermanent)
	}
	utf8 := aws.String("UTF-8")
	body := &types.Body{Text: &types.Content{Data: aws.String(m.Message.Text), Charset: utf8}}
	if m.Message.HTML != "" {
		body.Html = &types.Content{Data: aws.String(m.Message.HTML), Charset: utf8}
	}
	headers := []types.MessageHeader{{Name: aws.String(HeaderReminder), Value: aws.String(m.ReminderID)}}
	if m.UnsubscribeURL != "" {
		headers = append(headers,
			types.MessageHeader{Name: aws.String("List-Unsubscribe"), Value: aws.String("<" + m.UnsubscribeURL + ">")},
			types.MessageHeader{Name: aws.String("List-Unsubscribe-Post"), Value: aws.String("List-Unsubscribe=One-Click")})
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(e.From),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(m.Message.Subject), Charset: utf8},
			Body:    body, Headers: headers,
		}},
		EmailTags: []types.MessageTag{
			{Name: aws.String("reminder"), Value: aws.String(m.ReminderID)},
			{Name: aws.String("category"), Value: aws.String(string(m.Category))},
		},
	}
	if m.Category == model.CategoryMarketing && m.UnsubscribeURL == "" {
		// Marketing mail without a working unsubscribe link is not sent.
		return "", fmt.Errorf("email %s: marketing without unsubscribe link: %w", m.ReminderID, app.ErrPermanent)
	}
	if e.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(e.ConfigurationSet)
	}
	tctx, reached := traced(ctx)
	out, err := e.Client.SendEmail(tctx, in)
	if err != nil {
		return "", classifySES(m.ReminderID, err, reached)
	}
	return aws.ToString(out.MessageId), nil
}

// Lookup implements Channel. SES v2 has no query by idempotency key.
func (e *Email) Lookup(context.Context, string) (app.Lookup, string, error) {
	return app.LookupUnknown, "", nil
}

func classifySES(id string, err error, reached *reach) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "MessageRejected", "BadRequestException", "NotFoundException":
			// The address or message is refused as such: retrying will not help.
			return fmt.Errorf("email %s: %s: %w", id, ae.ErrorCode(), app.ErrPermanent)
		}
		// Throttling, limits, paused sending, unverified identity: retry with backoff; an
		// operator fixes the account before attempts run out.
		return fmt.Errorf("email %s: %s", id, ae.ErrorCode())
	}
	return transportError("email "+id, err, reached)
}

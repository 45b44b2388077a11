package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2/types"

	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
)

// SMSAPI is the part of the End User Messaging SMS client SMS uses.
type SMSAPI interface {
	SendTextMessage(ctx context.Context, in *pinpointsmsvoicev2.SendTextMessageInput, optFns ...func(*pinpointsmsvoicev2.Options)) (*pinpointsmsvoicev2.SendTextMessageOutput, error)
}

// SMS sends through AWS End User Messaging SMS (pinpointsmsvoicev2.SendTextMessage).
type SMS struct {
	Client              SMSAPI
	OriginationIdentity string
	// ConfigurationSet publishes the delivery receipts (SMS_CONFIGURATION_SET) to the
	// SNS topic the delivery function reads; "" sends without receipts.
	ConfigurationSet string
}

// Send implements Channel.
func (s *SMS) Send(ctx context.Context, m app.Outgoing) (string, error) {
	if m.To == "" {
		return "", fmt.Errorf("sms %s: no number: %w", m.ReminderID, app.ErrPermanent)
	}
	mt := types.MessageTypeTransactional
	if m.Category == model.CategoryMarketing {
		mt = types.MessageTypePromotional
	}
	tctx, reached := traced(ctx)
	out, err := s.Client.SendTextMessage(tctx, &pinpointsmsvoicev2.SendTextMessageInput{
		DestinationPhoneNumber: aws.String(m.To),
		OriginationIdentity:    aws.String(s.OriginationIdentity),
		MessageBody:            aws.String(m.Message.Text),
		MessageType:            mt,
		Context:                map[string]string{"reminder": m.ReminderID, "category": string(m.Category)},
		ConfigurationSetName:   configurationSet(s.ConfigurationSet),
	})
	if err != nil {
		return "", classifySMS(m.ReminderID, err, reached)
	}
	return aws.ToString(out.MessageId), nil
}

// Lookup implements Channel: the service has no query by idempotency key.
func (s *SMS) Lookup(context.Context, string) (app.Lookup, string, error) {
	return app.LookupUnknown, "", nil
}

func classifySMS(id string, err error, reached *reach) error {
	var ve *types.ValidationException
	var ce *types.ConflictException
	var te *types.ThrottlingException
	var qe *types.ServiceQuotaExceededException
	var ie *types.InternalServerException
	switch {
	case errors.As(err, &ve):
		// Invalid or unsupported destination number.
		return fmt.Errorf("sms %s: validation %s: %w", id, ve.Reason, app.ErrPermanent)
	case errors.As(err, &ce):
		// Notably DESTINATION_PHONE_NUMBER_OPTED_OUT: the carrier-level opt-out list.
		return fmt.Errorf("sms %s: conflict %s: %w", id, ce.Reason, app.ErrPermanent)
	case errors.As(err, &te), errors.As(err, &qe), errors.As(err, &ie):
		return fmt.Errorf("sms %s: %w", id, err)
	}
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return fmt.Errorf("sms %s: %s", id, ae.ErrorCode())
	}
	return transportError("sms "+id, err, reached)
}

func configurationSet(name string) *string {
	if name == "" {
		return nil
	}
	return aws.String(name)
}

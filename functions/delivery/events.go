package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/model"
)

// The AWS formats this function reads; each is documented by AWS and has a sample in
// events/ (delivery-*.json).

// envelope is either an EventBridge event (SES v2 event publishing to the default bus,
// End User Messaging "Text Message Delivery Status Updated") or an SNS notification batch
// (End User Messaging SMS event destination and two-way SMS).
type envelope struct {
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Time       time.Time       `json:"time"`
	Detail     json.RawMessage `json:"detail"`
	Records    []struct {
		EventSource string `json:"EventSource"`
		Sns         struct {
			MessageID string    `json:"MessageId"`
			Message   string    `json:"Message"`
			Timestamp time.Time `json:"Timestamp"`
		} `json:"Sns"`
	} `json:"Records"`
}

// sesEvent is the detail of an SES event (the event publishing record).
type sesEvent struct {
	EventType string `json:"eventType"`
	Mail      struct {
		Timestamp   time.Time           `json:"timestamp"`
		MessageID   string              `json:"messageId"`
		Destination []string            `json:"destination"`
		Tags        map[string][]string `json:"tags"`
	} `json:"mail"`
	Bounce *struct {
		BounceType        string      `json:"bounceType"`
		BouncedRecipients []recipient `json:"bouncedRecipients"`
		Timestamp         time.Time   `json:"timestamp"`
	} `json:"bounce"`
	Complaint *struct {
		ComplainedRecipients []recipient `json:"complainedRecipients"`
		Timestamp            time.Time   `json:"timestamp"`
	} `json:"complaint"`
	Delivery *struct {
		Timestamp time.Time `json:"timestamp"`
	} `json:"delivery"`
}

type recipient struct {
	EmailAddress string `json:"emailAddress"`
}

// smsEvent is an End User Messaging SMS event record (event destination payload).
type smsEvent struct {
	EventType              string            `json:"eventType"`
	EventTimestamp         int64             `json:"eventTimestamp"`
	MessageID              string            `json:"messageId"`
	DestinationPhoneNumber string            `json:"destinationPhoneNumber"`
	Context                map[string]string `json:"context"`
}

// smsInbound is a two-way SMS message End User Messaging publishes to the SNS topic.
type smsInbound struct {
	OriginationNumber string `json:"originationNumber"`
	MessageBody       string `json:"messageBody"`
	InboundMessageID  string `json:"inboundMessageId"`
}

// report is one thing to record: a delivery (with the recipient it names) or a reply.
type report struct {
	Delivery *followup.Delivery
	Address  string // personal data: never logged
	Reply    *smsInbound
	Kind     string // what the log line says it was
}

// sesKinds maps SES event types; a bounce depends on its type.
var sesKinds = map[string]followup.DeliveryKind{
	"Send": followup.DeliverySent, "Delivery": followup.DeliveryDelivered, "Complaint": followup.DeliveryComplained,
	"DeliveryDelay": followup.DeliveryDelayed, "Rendering Failure": followup.DeliveryFailed, "Reject": followup.DeliveryFailed,
}

func fromSES(ev envelope) (report, error) {
	var d sesEvent
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return report{}, fmt.Errorf("ses event: %w", err)
	}
	kind, ok := sesKinds[d.EventType]
	at := ev.Time
	addr := ""
	if len(d.Mail.Destination) > 0 {
		addr = d.Mail.Destination[0]
	}
	var reason followup.Reason
	switch {
	case d.EventType == "Bounce" && d.Bounce != nil:
		ok, kind = true, followup.DeliveryDelayed // transient or undetermined: SES is still trying
		if d.Bounce.BounceType == "Permanent" {
			kind = followup.DeliveryBounced
		}
		at = d.Bounce.Timestamp
		if len(d.Bounce.BouncedRecipients) > 0 {
			addr = d.Bounce.BouncedRecipients[0].EmailAddress
		}
	case d.EventType == "Complaint" && d.Complaint != nil:
		at = d.Complaint.Timestamp
		if len(d.Complaint.ComplainedRecipients) > 0 {
			addr = d.Complaint.ComplainedRecipients[0].EmailAddress
		}
	case d.EventType == "Delivery" && d.Delivery != nil:
		at = d.Delivery.Timestamp
	case d.EventType == "Rendering Failure":
		reason = followup.ReasonTemplateError
	case d.EventType == "Reject":
		reason = followup.ReasonRejected
	}
	if !ok {
		return report{Kind: "ses " + d.EventType}, nil
	}
	if at.IsZero() {
		at = d.Mail.Timestamp
	}
	rem := ""
	if t := d.Mail.Tags["reminder"]; len(t) > 0 {
		rem = t[0]
	}
	return report{Kind: "ses " + d.EventType, Address: addr, Delivery: &followup.Delivery{
		Channel: model.ChannelEmail, ReminderID: rem, Kind: kind, At: at, ProviderID: d.Mail.MessageID, Reason: reason,
	}}, nil
}

// smsKinds maps End User Messaging SMS event types (final outcomes; PENDING, QUEUED and
// the like change nothing).
var smsKinds = map[string]struct {
	kind   followup.DeliveryKind
	reason followup.Reason
}{
	"TEXT_SUCCESSFUL":          {followup.DeliverySent, ""},
	"TEXT_DELIVERED":           {followup.DeliveryDelivered, ""},
	"TEXT_INVALID":             {followup.DeliveryFailed, followup.ReasonBadContact},
	"TEXT_INVALID_MESSAGE":     {followup.DeliveryFailed, followup.ReasonTemplateError},
	"TEXT_UNREACHABLE":         {followup.DeliveryFailed, followup.ReasonRejected},
	"TEXT_CARRIER_UNREACHABLE": {followup.DeliveryFailed, followup.ReasonRejected},
	"TEXT_BLOCKED":             {followup.DeliveryFailed, followup.ReasonRejected},
	"TEXT_CARRIER_BLOCKED":     {followup.DeliveryFailed, followup.ReasonRejected},
	"TEXT_SPAM":                {followup.DeliveryFailed, followup.ReasonRejected},
	"TEXT_TTL_EXPIRED":         {followup.DeliveryFailed, followup.ReasonRejected},
}

func fromSMSEvent(raw []byte) (report, error) {
	var e smsEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return report{}, fmt.Errorf("sms event: %w", err)
	}
	k, ok := smsKinds[e.EventType]
	if !ok {
		return report{Kind: "sms " + e.EventType}, nil
	}
	return report{Kind: "sms " + e.EventType, Address: e.DestinationPhoneNumber, Delivery: &followup.Delivery{
		Channel: model.ChannelSMS, ReminderID: e.Context["reminder"], Kind: k.kind, At: time.UnixMilli(e.EventTimestamp).UTC(),
		ProviderID: e.MessageID, Reason: k.reason,
	}}, nil
}

// parse reads one invocation's payload into the reports it carries.
func parse(raw []byte) ([]report, error) {
	var ev envelope
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("delivery event: %w", err)
	}
	switch {
	case ev.Source == "aws.ses":
		r, err := fromSES(ev)
		return []report{r}, err
	case ev.Source == "aws.sms-voice":
		r, err := fromSMSEvent(ev.Detail)
		return []report{r}, err
	case len(ev.Records) > 0:
		var out []report
		for _, rec := range ev.Records {
			if !strings.EqualFold(rec.EventSource, "aws:sns") {
				return nil, fmt.Errorf("delivery event: record from %q", rec.EventSource)
			}
			msg := []byte(rec.Sns.Message)
			var probe struct {
				EventType         string `json:"eventType"`
				OriginationNumber string `json:"originationNumber"`
			}
			if err := json.Unmarshal(msg, &probe); err != nil {
				return nil, fmt.Errorf("sns message %s: %w", rec.Sns.MessageID, err)
			}
			switch {
			case probe.EventType != "":
				r, err := fromSMSEvent(msg)
				if err != nil {
					return nil, err
				}
				out = append(out, r)
			case probe.OriginationNumber != "":
				var in smsInbound
				if err := json.Unmarshal(msg, &in); err != nil {
					return nil, fmt.Errorf("sms reply %s: %w", rec.Sns.MessageID, err)
				}
				if in.InboundMessageID == "" {
					in.InboundMessageID = rec.Sns.MessageID
				}
				out = append(out, report{Kind: "sms reply", Reply: &in})
			default:
				out = append(out, report{Kind: "sns unknown"})
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("delivery event: neither an SES/SMS EventBridge event nor an SNS notification (source %q)", ev.Source)
}

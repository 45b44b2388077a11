// Package eventbridge is the deployed events.Publisher: it puts tierflow's events on the
// stack's EventBridge bus with PutEvents, ten entries a call (the API's limit), each entry
// checked against EventBridge's 256 KB entry size before it is sent, and reports which
// entries failed, by event id, so a caller can retry only those.
//
// The entry's detail is {"eventId", "store", "data"}: the deterministic event id (consumers
// drop a copy a retried producer sends), the store, and the producer's detail.
package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/tierflow/tierflow/shared/events"
)

// MaxBatch is PutEvents' most entries per call.
const MaxBatch = 10

// MaxEntryBytes is EventBridge's largest entry (and request): 256 KB.
const MaxEntryBytes = 256 * 1024

// API is the part of the EventBridge client the publisher uses.
type API interface {
	PutEvents(ctx context.Context, in *sdk.PutEventsInput, opts ...func(*sdk.Options)) (*sdk.PutEventsOutput, error)
}

// Publisher puts events on one bus.
type Publisher struct {
	api API
	bus string
}

// New returns a publisher to bus through api.
func New(api API, bus string) *Publisher { return &Publisher{api: api, bus: bus} }

// Failure is one event that was not put on the bus.
type Failure struct {
	EventID string
	Type    string
	Code    string // EventBridge's ErrorCode, or "TooLarge" / "Unencodable" before sending
	Message string
}

// Error lists the events that failed; the others were put on the bus.
type Error struct{ Failed []Failure }

func (e *Error) Error() string {
	parts := make([]string, 0, len(e.Failed))
	for _, f := range e.Failed {
		parts = append(parts, fmt.Sprintf("%s %s: %s %s", f.Type, f.EventID, f.Code, f.Message))
	}
	return fmt.Sprintf("eventbridge: %d event(s) not published: %s", len(e.Failed), strings.Join(parts, "; "))
}

type detail struct {
	EventID string `json:"eventId"`
	Store   string `json:"store,omitempty"`
	Data    any    `json:"data"`
}

// Publish implements events.Publisher. It returns *Error naming each event that was not
// put on the bus (too large, unencodable, or refused by EventBridge), and a wrapped error
// when a call failed as a whole (those entries are listed too).
func (p *Publisher) Publish(ctx context.Context, evs ...events.Event) error {
	var failed []Failure
	var batch []types.PutEventsRequestEntry
	var inBatch []events.Event
	var callErrs []error
	flush := func() {
		if len(batch) == 0 {
			return
		}
		out, err := p.api.PutEvents(ctx, &sdk.PutEventsInput{Entries: batch})
		switch {
		case err != nil:
			callErrs = append(callErrs, err)
			for _, ev := range inBatch {
				failed = append(failed, Failure{EventID: ev.ID, Type: ev.Type, Code: "CallFailed", Message: err.Error()})
			}
		case out.FailedEntryCount > 0:
			for i, e := range out.Entries {
				if i < len(inBatch) && e.ErrorCode != nil {
					failed = append(failed, Failure{EventID: inBatch[i].ID, Type: inBatch[i].Type,
						Code: aws.ToString(e.ErrorCode), Message: aws.ToString(e.ErrorMessage)})
				}
			}
		}
		batch, inBatch = nil, nil
	}
	size := 0
	for _, ev := range evs {
		raw, err := json.Marshal(detail{EventID: ev.ID, Store: ev.Store, Data: ev.Detail})
		if err != nil {
			failed = append(failed, Failure{EventID: ev.ID, Type: ev.Type, Code: "Unencodable", Message: err.Error()})
			continue
		}
		e := types.PutEventsRequestEntry{Source: aws.String(events.Source), DetailType: aws.String(ev.Type),
			Detail: aws.String(string(raw)), EventBusName: aws.String(p.bus)}
		if !ev.Time.IsZero() {
			e.Time = aws.Time(ev.Time)
		}
		n := EntrySize(e)
		if n > MaxEntryBytes {
			failed = append(failed, Failure{EventID: ev.ID, Type: ev.Type, Code: "TooLarge",
				Message: fmt.Sprintf("%d bytes, EventBridge takes at most %d", n, MaxEntryBytes)})
			continue
		}
		if len(batch) == MaxBatch || size+n > MaxEntryBytes {
			flush()
			size = 0
		}
		batch, inBatch = append(batch, e), append(inBatch, ev)
		size += n
	}
	flush()
	if len(failed) == 0 {
		return nil
	}
	err := error(&Error{Failed: failed})
	if len(callErrs) > 0 {
		err = fmt.Errorf("%w (%w)", err, errors.Join(callErrs...))
	}
	return err
}

// EntrySize is an entry's size as EventBridge counts it: 14 bytes for the time when set,
// the UTF-8 bytes of source, detail type and detail, and of each resource.
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html)
func EntrySize(e types.PutEventsRequestEntry) int {
	n := 0
	if e.Time != nil {
		n += 14
	}
	for _, s := range []*string{e.Source, e.DetailType, e.Detail} {
		if s != nil {
			n += len(*s) // Go strings are UTF-8 bytes already
		}
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// TimelineKind says what happened in a timeline entry.
type TimelineKind string

const (
	TimelineTouch       TimelineKind = "touch"       // a lead form or import (Touch)
	TimelineTransaction TimelineKind = "transaction" // a purchase or refund (Txn)
	TimelineTierChange  TimelineKind = "tier_change" // a night's tier change (TierChange)
	TimelineMessage     TimelineKind = "message"     // an SMS or e-mail reminder (Reminder)
	TimelineTask        TimelineKind = "task"        // a staff task (Reminder)
)

// TimelineEntry is one event of a customer's timeline: the field its Kind names is set.
type TimelineEntry struct {
	Kind TimelineKind
	// At is when it happened (for a reminder: when it was planned for), to the
	// millisecond: entries are in At order, those of one millisecond as stored.
	At         time.Time
	Touch      *TouchItem
	Txn        *model.Txn
	TierChange *app.TierChange
	Reminder   *followup.Reminder
}

// Timeline is everything that happened to the customer, oldest first: one Query of the
// customer's partition and one batch read of the reminders it points at.
func (s *Staff) Timeline(ctx context.Context, c access.Customer) ([]TimelineEntry, error) {
	if c.ID() == "" {
		return nil, errNoGrant
	}
	items, err := s.t.query(ctx, CustomerPK(c.ID()), "")
	if err != nil {
		return nil, err
	}
	out := []TimelineEntry{}
	var reminderIDs []string
	for _, it := range items {
		sk, _ := it[attrSK].(*types.AttributeValueMemberS)
		if sk == nil {
			continue
		}
		e, err := timelineEntry(sk.Value, it)
		if err != nil {
			return nil, fmt.Errorf("timeline of %s: %w", c.ID(), err)
		}
		switch {
		case e.Kind != "":
			out = append(out, e)
		case strings.HasPrefix(sk.Value, prefixReminder):
			// a pointer: the reminder lives in its own item
			reminderIDs = append(reminderIDs, strings.TrimPrefix(sk.Value, prefixReminder))
		}
	}
	reminders, err := s.d.Reminders.ByID(ctx, reminderIDs)
	if err != nil {
		return nil, err
	}
	for _, r := range reminders {
		kind := TimelineMessage
		if r.IsTask() {
			kind = TimelineTask
		}
		out = append(out, TimelineEntry{Kind: kind, At: r.PlannedAt, Reminder: &r})
	}
	slices.SortStableFunc(out, func(a, b TimelineEntry) int { return strings.Compare(sortTime(a.At), sortTime(b.At)) })
	return out, nil
}

// timelineEntry decodes an item of the customer's partition that is an event of their
// timeline, by its sort key; anything else (the profile, the sealed section, reminder
// pointers, survey answers) is a zero entry.
func timelineEntry(sk string, item map[string]types.AttributeValue) (TimelineEntry, error) {
	var e TimelineEntry
	var err error
	switch {
	case strings.HasPrefix(sk, prefixTouch):
		e.Kind, e.Touch = TimelineTouch, &TouchItem{}
		err = attributevalue.UnmarshalMap(item, e.Touch)
		e.At = e.Touch.Touch.At
	case strings.HasPrefix(sk, prefixTxn):
		e.Kind, e.Txn = TimelineTransaction, &model.Txn{}
		err = attributevalue.UnmarshalMap(item, e.Txn)
		e.At = e.Txn.At
	case strings.HasPrefix(sk, prefixTier):
		e.Kind, e.TierChange = TimelineTierChange, &app.TierChange{}
		err = attributevalue.UnmarshalMap(item, e.TierChange)
		e.At = e.TierChange.At
	}
	if err != nil {
		return e, fmt.Errorf("decode %s: %w", sk, err)
	}
	return e, nil
}

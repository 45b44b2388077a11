package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/followup/app"
)

// Alerts is the escalation inbox of each store (app.Alerts); the assignee also finds the
// escalation on their task list through the escalation task itself.
type Alerts struct {
	t   *Table
	now func() time.Time
}

// NewAlerts returns the alert adapter over t; now stamps the alerts (nil: time.Now).
func NewAlerts(t *Table, now func() time.Time) *Alerts { return &Alerts{t: t, now: clock(now)} }

// alertTTL is how long an alert stays in the inbox.
const alertTTL = 30 * 24 * time.Hour

// Alert implements app.Alerts: the escalation lands in the store's alert inbox.
func (al *Alerts) Alert(ctx context.Context, a app.Alert) error {
	now := al.now()
	k := AlertKey(a.Store, now, a.TaskID)
	item, err := attributevalue.MarshalMap(a)
	if err != nil {
		return fmt.Errorf("alert %s: %w", a.TaskID, err)
	}
	item[attrPK] = &types.AttributeValueMemberS{Value: k.PK}
	item[attrSK] = &types.AttributeValueMemberS{Value: k.SK}
	item["type"] = &types.AttributeValueMemberS{Value: typeAlert}
	item[attrTTL] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(alertTTL).Unix(), 10)}
	out, err := al.t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(al.t.Name), Item: item, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return fmt.Errorf("alert %s: %w", a.TaskID, err)
	}
	al.t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

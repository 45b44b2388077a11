package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/feedback"
)

// Feedback keeps survey answers: each on the customer's timeline once, and the scores it
// moves on the profile (the emotion account, the latest CSAT and NPS).
type Feedback struct{ t *Table }

// NewFeedback returns the survey-answer adapter over t.
func NewFeedback(t *Table) *Feedback { return &Feedback{t: t} }

// Record stores one survey answer once (ref: the survey reminder or form) and, in
// the same transaction, moves the profile's scores: the emotion account (+1 satisfied,
// −3 dissatisfied, clamped), the latest CSAT/NPS. recorded=false means the same answer
// was stored before and nothing changed.
func (fb *Feedback) Record(ctx context.Context, customerID, ref string, at time.Time, r feedback.Response) (bool, error) {
	if err := r.Validate(); err != nil {
		return false, err
	}
	for attempt := 1; ; attempt++ {
		var acct feedback.EmotionAccount
		found, err := fb.t.profileAttr(ctx, customerID, "emotion", &acct)
		if err != nil {
			return false, err
		}
		next := acct.Record(r.Sentiment())
		ans := map[string]any{attrPK: CustomerPK(customerID), attrSK: FeedbackSK(ref), "type": typeFeedback, "at": at.UTC().Format(time.RFC3339), "ref": ref}
		ub := expression.Set(expression.Name("emotion"), expression.Value(next)).
			Set(expression.Name("emotionScore"), expression.Value(next.Score())).
			Set(expression.Name("feedbackAt"), expression.Value(at.UTC().Format(time.RFC3339)))
		if r.CSAT != nil {
			ans["csat"] = int(*r.CSAT)
			ub = ub.Set(expression.Name("lastCsat"), expression.Value(int(*r.CSAT)))
		}
		if r.NPS != nil {
			ans["nps"] = int(*r.NPS)
			ub = ub.Set(expression.Name("lastNps"), expression.Value(int(*r.NPS)))
		}
		cond := expression.AttributeExists(expression.Name(attrPK)).And(expression.AttributeNotExists(expression.Name("erasedAt")))
		if found {
			cond = cond.And(expression.Name("emotion.balance").Equal(expression.Value(acct.Balance)))
		} else {
			cond = cond.And(expression.AttributeNotExists(expression.Name("emotion")))
		}
		ex, err := expression.NewBuilder().WithUpdate(ub).WithCondition(cond).Build()
		if err != nil {
			return false, fmt.Errorf("feedback %s: %w", customerID, err)
		}
		item, err := attributevalue.MarshalMap(ans)
		if err != nil {
			return false, fmt.Errorf("feedback %s: %w", customerID, err)
		}
		err = fb.t.transact(ctx, []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(fb.t.Name), Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
			{Update: &types.Update{TableName: aws.String(fb.t.Name), Key: CustomerKey(customerID).av(), UpdateExpression: ex.Update(),
				ConditionExpression: ex.Condition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()}},
		})
		if err == nil {
			return true, fb.count(ctx, customerID, at, r)
		}
		if reasons := cancelReasons(err); len(reasons) > 0 && reasons[0] {
			return false, nil // answered before
		}
		if !retryable(err) || attempt >= 10 {
			return false, fmt.Errorf("feedback %s: %w", customerID, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return false, err
		}
	}
}

// count adds an answer to the feedback report's month (UTC) of the customer's store:
// responses, CSAT answers and satisfied ones (4–5), NPS answers, promoters (9–10) and
// detractors (0–6).
func (fb *Feedback) count(ctx context.Context, customerID string, at time.Time, r feedback.Response) error {
	var st string
	if _, err := fb.t.profileAttr(ctx, customerID, "store", &st); err != nil {
		return fmt.Errorf("feedback %s: counting: %w", customerID, err)
	}
	c := map[string]int64{"responses": 1}
	if r.CSAT != nil {
		c["csatN"], c["csatSum"] = 1, int64(*r.CSAT)
		if *r.CSAT >= 4 {
			c["csatSatisfied"] = 1
		}
	}
	if r.NPS != nil {
		c["npsN"] = 1
		switch {
		case *r.NPS >= 9:
			c["promoters"] = 1
		case *r.NPS <= 6:
			c["detractors"] = 1
		}
	}
	return NewTallies(fb.t, "feedback").Add(ctx, st, at.UTC().Format("2006-01"), c)
}

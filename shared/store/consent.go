package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
)

// Double opt-in (see docs/leads.md): a known person's form that asks for a consent they
// do not have leaves the request on its touch (PendingConsents); the confirmation message
// issues a token as it is sent (Issue; shared/links makes the link); the link's page shows
// the wording (Request) and its button records the consent (Confirm).
//
//	consent token   CONSENT#<sha256(token)> / TOKEN   customer, consents, wording version,
//	                                                  expiry (TTL), usedAt once confirmed

// Errors a confirmation link answers with besides ErrNotFound.
var (
	ErrLinkUsed    = errors.New("store: confirmation link already used")
	ErrLinkExpired = errors.New("store: confirmation link expired")
)

// Consents keeps the double opt-in links: it issues a token for a confirmation message
// as it is sent, and answers and records what a link stands for. The link's URL is
// shared/links'.
type Consents struct {
	t   *Table
	now func() time.Time
}

// NewConsents returns the consent-link adapter over t; now stamps issued links (nil:
// time.Now).
func NewConsents(t *Table, now func() time.Time) *Consents { return &Consents{t: t, now: clock(now)} }

// consentTokenItem is the stored link. The token is not in it: only its hash is the key.
type consentTokenItem struct {
	PK          string          `dynamodbav:"PK"`
	SK          string          `dynamodbav:"SK"`
	Type        string          `dynamodbav:"type"`
	CustomerID  string          `dynamodbav:"customerId"`
	Consents    []model.Consent `dynamodbav:"consents"`
	TextVersion string          `dynamodbav:"textVersion"`
	Via         model.Channel   `dynamodbav:"via"`
	ReminderID  string          `dynamodbav:"reminderId"`
	TouchRef    string          `dynamodbav:"touchRef"`
	IssuedAt    time.Time       `dynamodbav:"issuedAt"`
	ExpiresAt   int64           `dynamodbav:"expiresAt"` // epoch seconds: the table's TTL attribute
	UsedAt      *time.Time      `dynamodbav:"usedAt,omitempty"`
}

// ConsentRequest is what a confirmation link stands for.
type ConsentRequest struct {
	CustomerID string
	// Consents are the grants asked for (category and channel); confirming records each.
	Consents    []model.Consent
	TextVersion string // the wording shown and recorded
	ExpiresAt   time.Time
	UsedAt      *time.Time
	// Store and Changed are set by a successful Confirm: the customer's store and the
	// grants that were not in force before it (a grant already in force is recorded
	// again but changes nothing), for consent.changed.
	Store   string
	Changed []model.Consent
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Issue reads what the reminder's touch asked for and stores a fresh token for it, valid
// customer.ConfirmWindow, keyed by the token's hash; it returns the token, which is
// stored nowhere. app.ErrNotFound: the touch is gone or holds nothing to confirm (erasure
// clears it).
func (c *Consents) Issue(ctx context.Context, r followup.Reminder) (string, error) {
	raw, err := c.t.getItem(ctx, TouchKey(r.CustomerID, r.TriggerRef))
	if err != nil {
		return "", fmt.Errorf("consent request of %s: %w", r.ID, err)
	}
	var ti TouchItem
	if raw != nil {
		if err := attributevalue.UnmarshalMap(raw, &ti); err != nil {
			return "", fmt.Errorf("consent request of %s: %w", r.ID, err)
		}
	}
	if len(ti.PendingConsents) == 0 || ti.CustomerID != r.CustomerID {
		return "", app.ErrNotFound
	}
	asked := make([]model.Consent, 0, len(ti.PendingConsents))
	for _, pc := range ti.PendingConsents {
		asked = append(asked, model.Consent{Category: pc.Category, Channel: pc.Channel, Granted: true})
	}
	now := c.now()
	token := newToken()
	k := ConsentTokenKey(tokenHash(token))
	item, err := attributevalue.MarshalMap(consentTokenItem{
		PK: k.PK, SK: k.SK, Type: typeConsentToken,
		CustomerID: r.CustomerID, Consents: asked, TextVersion: customer.WordingVersion(ti.PendingConsents[0].TextVersion),
		Via: r.Channel, ReminderID: r.ID, TouchRef: r.TriggerRef,
		IssuedAt: now.UTC(), ExpiresAt: now.Add(customer.ConfirmWindow).Unix(),
	})
	if err != nil {
		return "", fmt.Errorf("consent token for %s: %w", r.ID, err)
	}
	put, err := c.t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(c.t.Name), Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)"),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		c.t.Units.add(true)
		return "", fmt.Errorf("consent token for %s: %w", r.ID, err)
	}
	c.t.Units.addOne(true, put.ConsumedCapacity)
	return token, nil
}

func (c *Consents) read(ctx context.Context, token string) (consentTokenItem, error) {
	var it consentTokenItem
	if token == "" || len(token) > 64 {
		return it, ErrNotFound
	}
	raw, err := c.t.getItem(ctx, ConsentTokenKey(tokenHash(token)))
	if err != nil {
		return it, fmt.Errorf("read confirmation link: %w", err)
	}
	if raw == nil {
		return it, ErrNotFound
	}
	if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
		return it, fmt.Errorf("decode confirmation link: %w", err)
	}
	return it, nil
}

func (it consentTokenItem) request() ConsentRequest {
	return ConsentRequest{CustomerID: it.CustomerID, Consents: it.Consents, TextVersion: it.TextVersion,
		ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC(), UsedAt: it.UsedAt}
}

// check says whether the link may still be used at now.
func (it consentTokenItem) check(now time.Time) error {
	switch {
	case it.UsedAt != nil:
		return ErrLinkUsed
	case now.Unix() >= it.ExpiresAt:
		// TTL deletes the item some time after expiry; until then it still answers so.
		return ErrLinkExpired
	}
	return nil
}

// Request returns what a confirmation link stands for: ErrNotFound for a token
// nobody issued, ErrLinkUsed / ErrLinkExpired (with the request) for one that no longer
// confirms anything.
func (c *Consents) Request(ctx context.Context, token string, now time.Time) (ConsentRequest, error) {
	it, err := c.read(ctx, token)
	if err != nil {
		return ConsentRequest{}, err
	}
	return it.request(), it.check(now)
}

// Confirm records the consents a link stands for, once: in one transaction the
// link is marked used (only if unused and unexpired) and each consent is appended to the
// profile's record with time, source "double-opt-in", the confirming request's IP and
// the wording version, bumping the profile's version so a staff edit in flight re-reads.
// An erased customer, or one who no longer exists, is ErrNotFound.
func (c *Consents) Confirm(ctx context.Context, token string, at time.Time, ip string) (ConsentRequest, error) {
	for attempt := 1; ; attempt++ {
		it, err := c.read(ctx, token)
		if err != nil {
			return ConsentRequest{}, err
		}
		if err := it.check(at); err != nil {
			return it.request(), err
		}
		prof, version, err := c.t.GetProfile(ctx, it.CustomerID)
		switch {
		case errors.Is(err, ErrNotFound):
			return it.request(), ErrNotFound
		case err != nil:
			return ConsentRequest{}, fmt.Errorf("confirm consent: %w", err)
		case prof.Erased():
			return it.request(), ErrNotFound
		}
		recs := make([]model.Consent, 0, len(it.Consents))
		var changed []model.Consent
		for _, asked := range it.Consents {
			rec := model.Consent{Category: asked.Category, Channel: asked.Channel, Granted: true, At: at.UTC(),
				Source: customer.ConfirmSource, IP: ip, TextVersion: it.TextVersion}
			recs = append(recs, rec)
			if !prof.Consents.Granted(asked.Category, asked.Channel) {
				changed = append(changed, rec)
			}
		}
		recsAV, err := attributevalue.Marshal(recs)
		if err != nil {
			return ConsentRequest{}, fmt.Errorf("confirm consent: %w", err)
		}
		useTok := expression.Set(expression.Name("usedAt"), expression.Value(at.UTC().Format(time.RFC3339Nano)))
		useCond := expression.AttributeExists(expression.Name(attrPK)).
			And(expression.AttributeNotExists(expression.Name("usedAt"))).
			And(expression.Name(attrTTL).GreaterThan(expression.Value(at.Unix())))
		tokEx, err := expression.NewBuilder().WithUpdate(useTok).WithCondition(useCond).Build()
		if err != nil {
			return ConsentRequest{}, fmt.Errorf("confirm consent: %w", err)
		}
		addRecs := expression.Set(expression.Name("consents"),
			expression.ListAppend(expression.IfNotExists(expression.Name("consents"), expression.Value(&types.AttributeValueMemberL{})), expression.Value(recsAV))).
			Set(expression.Name("version"), expression.Plus(expression.IfNotExists(expression.Name("version"), expression.Value(0)), expression.Value(1))).
			Set(expression.Name("updatedAt"), expression.Value(at.UTC().Format(time.RFC3339Nano)))
		// The profile must still be the version read above, so Changed is what this
		// transaction changed; another write meanwhile makes it read again.
		sameVersion := profileVersionIs(version)
		profCond := expression.AttributeExists(expression.Name(attrPK)).And(expression.AttributeNotExists(expression.Name("erasedAt")), sameVersion)
		profEx, err := expression.NewBuilder().WithUpdate(addRecs).WithCondition(profCond).Build()
		if err != nil {
			return ConsentRequest{}, fmt.Errorf("confirm consent: %w", err)
		}
		err = c.t.transact(ctx, []types.TransactWriteItem{
			{Update: &types.Update{TableName: aws.String(c.t.Name), Key: ConsentTokenKey(tokenHash(token)).av(),
				UpdateExpression: tokEx.Update(), ConditionExpression: tokEx.Condition(),
				ExpressionAttributeNames: tokEx.Names(), ExpressionAttributeValues: tokEx.Values()}},
			{Update: &types.Update{TableName: aws.String(c.t.Name), Key: CustomerKey(it.CustomerID).av(),
				UpdateExpression: profEx.Update(), ConditionExpression: profEx.Condition(),
				ExpressionAttributeNames: profEx.Names(), ExpressionAttributeValues: profEx.Values()}},
		})
		if err == nil {
			used := at.UTC()
			req := it.request()
			req.UsedAt = &used
			req.Store, req.Changed = prof.Store, changed
			return req, nil
		}
		switch reasons := cancelReasons(err); {
		case len(reasons) == 2 && reasons[1] && attempt < 5:
			continue // erased, gone or changed meanwhile: the next read says which
		case len(reasons) == 2 && reasons[1]:
			return ConsentRequest{}, fmt.Errorf("confirm consent of %s: the profile kept changing: %w", it.CustomerID, err)
		case len(reasons) == 2 && reasons[0] && attempt < 5:
			continue // used or expired meanwhile: the next read says which
		}
		if !retryable(err) || attempt >= 5 {
			return ConsentRequest{}, fmt.Errorf("confirm consent of %s: %w", it.CustomerID, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return ConsentRequest{}, err
		}
	}
}

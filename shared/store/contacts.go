package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
	"github.com/tierflow/tierflow/shared/model"
)

// Contacts is what follow-up reads and writes of a customer to reach them
// (app.Customers): the contact view, the attributes it owns on the profile item
// (marketingOptOut, badChannels, unsubToken, locale) and the unsubscribe token with its
// lookup item, by which links and replies name a customer without personal data.
type Contacts struct {
	t *Table
	// EventualReads makes ContactView an eventually consistent read (half the read units):
	// dispatch sets it, since a change is visible within about a second and a message is
	// sent seconds to hours after it was planned (docs/followup.md, "Request units").
	EventualReads bool

	mu     sync.Mutex
	tokens map[string]string // customer id → unsubscribe token, filled by ContactView
}

// NewContacts returns the contact adapter over t.
func NewContacts(t *Table) *Contacts { return &Contacts{t: t, tokens: map[string]string{}} }

// ContactView implements app.Customers from the profile item. It also makes sure the
// customer has an unsubscribe token, and keeps it for Token, so every link rendered
// afterwards works.
func (c *Contacts) ContactView(ctx context.Context, customerID string) (followup.CustomerView, error) {
	var raw map[string]types.AttributeValue
	var err error
	if c.EventualReads {
		raw, err = c.eventualProfile(ctx, customerID)
	} else {
		_, _, raw, err = c.t.getProfileItem(ctx, customerID)
	}
	if errors.Is(err, ErrNotFound) {
		return followup.CustomerView{}, app.ErrNotFound
	}
	if err != nil {
		return followup.CustomerView{}, err
	}
	v, tok, err := viewFromItem(raw)
	if err != nil || v.Erased {
		return v, err
	}
	if tok == "" {
		if tok, err = c.ensureToken(ctx, customerID); err != nil {
			return v, err
		}
	}
	c.mu.Lock()
	if len(c.tokens) > 10000 {
		clear(c.tokens) // a warm Lambda serves many customers; the map is a per-batch cache
	}
	c.tokens[customerID] = tok
	c.mu.Unlock()
	return v, nil
}

// Token is the unsubscribe token ContactView last read for the customer, "" when it has
// read none: the dispatcher reads the contact view before it renders links
// (shared/links), so a customer never gets a link with someone else's token, and a
// customer whose view was not read gets none.
func (c *Contacts) Token(customerID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens[customerID]
}

// viewFromItem maps a stored profile item to the contact view and its unsubscribe token.
func viewFromItem(raw map[string]types.AttributeValue) (followup.CustomerView, string, error) {
	p, _, err := decodeProfile(raw)
	if err != nil {
		return followup.CustomerView{}, "", err
	}
	var extra struct {
		Locale          string            `dynamodbav:"locale"`
		MarketingOptOut bool              `dynamodbav:"marketingOptOut"`
		OptOutAt        string            `dynamodbav:"marketingOptOutAt"`
		BadChannels     []string          `dynamodbav:"badChannels"`
		UnsubToken      string            `dynamodbav:"unsubToken"`
		ClosedEmail     *followup.Closure `dynamodbav:"closedEmail"`
		ClosedSMS       *followup.Closure `dynamodbav:"closedSms"`
	}
	if err := attributevalue.UnmarshalMap(raw, &extra); err != nil {
		return followup.CustomerView{}, "", fmt.Errorf("contact view %s: %w", p.ID, err)
	}
	v := followup.CustomerView{
		ID: p.ID, Store: p.Store, Locale: extra.Locale, TimeZone: p.TimeZone, Name: p.Name, Phone: p.Phone, Email: p.Email,
		Tier: p.Tier, Stage: p.Stage, Birthday: followup.BirthdayFrom(p.Birthday, p.BirthdayLunar), Consents: slices.Clone([]model.Consent(p.Consents)),
		MarketingOptOut: extra.MarketingOptOut, Erased: p.Erased(),
	}
	if extra.OptOutAt != "" {
		if v.MarketingOptOutAt, err = time.Parse(time.RFC3339, extra.OptOutAt); err != nil {
			return followup.CustomerView{}, "", fmt.Errorf("decode opt-out time of %s: %w", p.ID, err)
		}
	}
	slices.Sort(extra.BadChannels)
	for _, c := range extra.BadChannels {
		v.BadChannels = append(v.BadChannels, model.Channel(c))
	}
	closed := map[model.Channel]followup.Closure{}
	if extra.ClosedEmail != nil {
		closed[model.ChannelEmail] = *extra.ClosedEmail
	}
	if extra.ClosedSMS != nil {
		closed[model.ChannelSMS] = *extra.ClosedSMS
	}
	v.ApplyClosures(closed)
	return v, extra.UnsubToken, nil
}

// ScanContactViews calls fn for every customer profile of one segment (the profile
// shards it owns, ProfileShardsOf), eventually consistent: the calendar pass plans days
// ahead.
func (c *Contacts) ScanContactViews(ctx context.Context, segment, segments int, fn func(followup.CustomerView) error) error {
	return c.t.queryProfiles(ctx, segment, segments, "", nil, func(it map[string]types.AttributeValue) error {
		v, _, err := viewFromItem(it)
		if err != nil {
			return err
		}
		return fn(v)
	})
}

func newToken() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// ensureToken gives the customer an unsubscribe token (160 random bits) and its
// UNSUB#<token> lookup item, in one transaction; a concurrent winner's token is kept.
func (c *Contacts) ensureToken(ctx context.Context, customerID string) (string, error) {
	tok := newToken()
	put, err := putUnique(c.t.Name, UnsubscribeKey(tok), customerID)
	if err != nil {
		return "", err
	}
	upd := types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(c.t.Name), Key: CustomerKey(customerID).av(),
		UpdateExpression:          aws.String("SET unsubToken = :t"),
		ConditionExpression:       aws.String("attribute_exists(PK) AND attribute_not_exists(unsubToken) AND attribute_not_exists(erasedAt)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: tok}},
	}}
	if err := c.t.transact(ctx, []types.TransactWriteItem{upd, put}); err != nil {
		if !retryable(err) {
			return "", fmt.Errorf("unsubscribe token for %s: %w", customerID, err)
		}
		var cur string
		if _, err := c.t.profileAttr(ctx, customerID, "unsubToken", &cur); err != nil {
			return "", err
		}
		return cur, nil // "" if erased meanwhile: the link is then simply absent
	}
	return tok, nil
}

// UnsubscribeToken returns the customer's token, creating it if needed.
func (c *Contacts) UnsubscribeToken(ctx context.Context, customerID string) (string, error) {
	var tok string
	found, err := c.t.profileAttr(ctx, customerID, "unsubToken", &tok)
	if err != nil {
		return "", err
	}
	if found && tok != "" {
		return tok, nil
	}
	return c.ensureToken(ctx, customerID)
}

// CustomerByToken resolves an unsubscribe/survey token; ErrNotFound if unknown (or the
// customer was erased, which deletes the token).
func (c *Contacts) CustomerByToken(ctx context.Context, token string) (string, error) {
	if token == "" || len(token) > 64 {
		return "", ErrNotFound
	}
	return c.t.ownerOf(ctx, UnsubscribeKey(token))
}

// CustomerByPhone resolves an E.164 number to its customer; ErrNotFound if unknown.
func (c *Contacts) CustomerByPhone(ctx context.Context, e164 string) (string, error) {
	return c.t.ownerOf(ctx, PhoneKey(e164))
}

// SetMarketingOptOut records a marketing opt-out on every channel at once (STOP reply,
// unsubscribe link). Repeating it changes nothing, unless the person granted marketing
// again since (a confirmed double opt-in lifts the opt-out on its channel): then this is a
// new opt-out, and its time and source replace the old ones.
func (c *Contacts) SetMarketingOptOut(ctx context.Context, customerID, source string, at time.Time) (bool, error) {
	upd := expression.Set(expression.Name("marketingOptOut"), expression.Value(true)).
		Set(expression.Name("marketingOptOutAt"), expression.Value(at.UTC().Format(time.RFC3339))).
		Set(expression.Name("marketingOptOutSource"), expression.Value(source))
	// A customer already opted out keeps the first opt-out's time and source.
	cond := expression.AttributeExists(expression.Name(attrPK)).And(
		expression.AttributeNotExists(expression.Name("marketingOptOut")).Or(expression.Name("marketingOptOut").NotEqual(expression.Value(true))))
	ex, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("opt out %s: %w", customerID, err)
	}
	out, err := c.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(c.t.Name), Key: CustomerKey(customerID).av(),
		UpdateExpression: ex.Update(), ConditionExpression: ex.Condition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		c.t.Units.add(true)
		if len(ccf.Item) == 0 {
			return false, app.ErrNotFound
		}
		v, _, err := viewFromItem(ccf.Item)
		if err != nil || !v.MarketingRegranted() {
			return false, err // already opted out: nothing changed
		}
		return c.renewOptOut(ctx, customerID, source, at, ccf.Item["marketingOptOutAt"])

	case err != nil:
		c.t.Units.add(true)
		return false, fmt.Errorf("opt out %s: %w", customerID, err)
	}
	c.t.Units.addOne(true, out.ConsumedCapacity)
	return true, nil
}

// renewOptOut records a new opt-out of a customer who granted marketing again after the
// old one, conditioned on the old one's time (another renewal meanwhile: nothing changed).
func (c *Contacts) renewOptOut(ctx context.Context, customerID, source string, at time.Time, oldAt types.AttributeValue) (bool, error) {
	out, err := c.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(c.t.Name), Key: CustomerKey(customerID).av(),
		UpdateExpression:    aws.String("SET marketingOptOutAt = :at, marketingOptOutSource = :src"),
		ConditionExpression: aws.String("marketingOptOutAt = :old"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":at": &types.AttributeValueMemberS{Value: at.UTC().Format(time.RFC3339)}, ":src": &types.AttributeValueMemberS{Value: source}, ":old": oldAt},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		c.t.Units.add(true)
		if ccf := (*types.ConditionalCheckFailedException)(nil); errors.As(err, &ccf) {
			return false, nil
		}
		return false, fmt.Errorf("opt out %s again: %w", customerID, err)
	}
	c.t.Units.addOne(true, out.ConsumedCapacity)
	return true, nil
}

// MarkBadContact implements app.Customers: the channel joins the badChannels set.
func (c *Contacts) MarkBadContact(ctx context.Context, customerID string, ch model.Channel) error {
	upd := expression.Add(expression.Name("badChannels"), expression.Value(&types.AttributeValueMemberSS{Value: []string{string(ch)}}))
	return c.updateProfile(ctx, customerID, upd, "mark bad contact")
}

// SetLocale records the customer's message language (zh-CN, en).
func (c *Contacts) SetLocale(ctx context.Context, customerID, locale string) error {
	return c.updateProfile(ctx, customerID, expression.Set(expression.Name("locale"), expression.Value(locale)), "set locale")
}

func (c *Contacts) updateProfile(ctx context.Context, customerID string, upd expression.UpdateBuilder, what string) error {
	ex, err := expression.NewBuilder().WithUpdate(upd).WithCondition(expression.AttributeExists(expression.Name(attrPK))).Build()
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, customerID, err)
	}
	out, err := c.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(c.t.Name), Key: CustomerKey(customerID).av(),
		UpdateExpression: ex.Update(), ConditionExpression: ex.Condition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		c.t.Units.add(true)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return app.ErrNotFound
		}
		return fmt.Errorf("%s %s: %w", what, customerID, err)
	}
	c.t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// closedAttr is the profile attribute that holds a channel's closure.
func closedAttr(ch model.Channel) (string, bool) {
	switch ch {
	case model.ChannelEmail:
		return "closedEmail", true
	case model.ChannelSMS:
		return "closedSms", true
	}
	return "", false
}

// CloseChannel implements app.Suppressions: the delivery events closed ch (a permanent
// bounce, a complaint) at at, until the customer grants a consent on it after at. It
// reports whether this was news: the same report delivered twice (same reason and time)
// changes nothing and returns false.
func (c *Contacts) CloseChannel(ctx context.Context, customerID string, ch model.Channel, reason followup.Reason, at time.Time) (bool, error) {
	attr, ok := closedAttr(ch)
	if !ok {
		return false, fmt.Errorf("close channel %s of %s: not a message channel", ch, customerID)
	}
	at = at.UTC()
	name := expression.Name(attr)
	upd := expression.Set(name, expression.Value(followup.Closure{Reason: reason, At: at}))
	cond := expression.AttributeExists(expression.Name(attrPK)).And(
		expression.AttributeNotExists(name).Or(expression.Name(attr + ".reason").NotEqual(expression.Value(reason))).
			Or(expression.Name(attr + ".at").NotEqual(expression.Value(at.Format(time.RFC3339Nano)))))
	ex, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("close channel %s of %s: %w", ch, customerID, err)
	}
	out, err := c.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(c.t.Name), Key: CustomerKey(customerID).av(),
		UpdateExpression: ex.Update(), ConditionExpression: ex.Condition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		c.t.Units.add(true)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			if len(ccf.Item) == 0 {
				return false, app.ErrNotFound
			}
			return false, nil // the same report again
		}
		return false, fmt.Errorf("close channel %s of %s: %w", ch, customerID, err)
	}
	c.t.Units.addOne(true, out.ConsumedCapacity)
	return true, nil
}

// CustomerByAddress implements app.Suppressions: the customer an e-mail address or an
// E.164 number belongs to; app.ErrNotFound if nobody's.
func (c *Contacts) CustomerByAddress(ctx context.Context, ch model.Channel, address string) (string, error) {
	k := EmailKey(address)
	if ch != model.ChannelEmail {
		k = PhoneKey(address)
	}
	id, err := c.t.ownerOf(ctx, k)
	if errors.Is(err, ErrNotFound) {
		return "", app.ErrNotFound
	}
	return id, err
}

// deliverability is how each message channel of a stored profile stands ("ok",
// "bounced", "complained", "suppressed"), for the customer detail.
func deliverability(raw map[string]types.AttributeValue) (map[string]string, error) {
	v, _, err := viewFromItem(raw)
	if err != nil {
		return nil, err
	}
	return map[string]string{"email": v.Deliverability(model.ChannelEmail), "sms": v.Deliverability(model.ChannelSMS)}, nil
}

func (c *Contacts) eventualProfile(ctx context.Context, id string) (map[string]types.AttributeValue, error) {
	if id == "" {
		return nil, ErrNotFound
	}
	out, err := c.t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(c.t.Name), Key: CustomerKey(id).av(), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return nil, fmt.Errorf("get profile %s: %w", id, err)
	}
	c.t.Units.addOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return nil, ErrNotFound
	}
	return out.Item, nil
}

// StoreOf is the customer's store ("" when the profile has none or is gone).
func (c *Contacts) StoreOf(ctx context.Context, customerID string) (string, error) {
	var st string
	if _, err := c.t.profileAttr(ctx, customerID, "store", &st); err != nil && !errors.Is(err, ErrNotFound) {
		return "", err
	}
	return st, nil
}

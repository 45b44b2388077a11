package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/model"
)

// Sentinel errors callers branch on.
var (
	// ErrNotFound: no such item (for a customer: no profile under that id).
	ErrNotFound = errors.New("store: not found")
	// ErrVersionConflict: the item changed since it was read; re-read and try again.
	ErrVersionConflict = errors.New("store: item changed concurrently")
	// ErrContactTaken: a phone or e-mail a change wants is another customer's.
	ErrContactTaken = errors.New("store: contact belongs to another customer")
)

// The profile item's attributes this file writes after creation. Other slices own
// other attributes of the same item (tier, stage, assignment, aggregates, clv,
// marketingOptOut, badChannels, unsubToken …): an update here never touches them,
// which is why the profile is never Put again once it exists.
var contactAttrs = []string{
	"name", "phone", "email", "birthday", "birthdayLunar", "timeZone", "store", "tags", "interest",
	"touches", "referralCode", "referredBy", "consents", "leadGrade", "gradeReason",
	"updatedAt", "erasedAt",
}

// maxResolveAttempts bounds optimistic retries. Each lost round means someone else's
// write landed, so the loop always makes progress; the bound only stops a pathological
// hot spot from holding a Lambda until its timeout.
const maxResolveAttempts = 200

// uniqueItem is a PHONE#/EMAIL#/REF#/UNSUB# item: it maps a key to its one customer.
type uniqueItem struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	Type       string `dynamodbav:"type"`
	CustomerID string `dynamodbav:"customerId"`
}

// TouchItem is one lead submission on the customer's timeline. For a person we already
// knew, Proposed holds what the form said differently (staff read it and may apply it by
// hand), Conflicts names the fields it disagreed with (or a contact owned by another
// customer), and PendingConsents the grants that wait for the person's own confirmation.
type TouchItem struct {
	CustomerID      string             `json:"customerId" dynamodbav:"customerId"`
	ID              string             `json:"id" dynamodbav:"touchId"`
	Touch           customer.Touch     `json:"touch" dynamodbav:"touch"`
	Created         bool               `json:"created" dynamodbav:"created"`
	Proposed        *customer.Proposal `json:"proposed,omitempty" dynamodbav:"proposed,omitempty"`
	Conflicts       []string           `json:"conflicts,omitempty" dynamodbav:"conflicts,omitempty"`
	PendingConsents []model.Consent    `json:"pendingConsents,omitempty" dynamodbav:"pendingConsents,omitempty"`
}

// LeadResult is what resolving one lead did. For a known person Profile is the stored
// profile, unchanged.
type LeadResult struct {
	Profile  customer.Profile
	Version  int64
	Created  bool
	TouchID  string
	TouchRef string // the touch within the customer's partition (TouchKey)
	// Proposal, Conflicts and Confirm are KnownLead's, for a known person.
	Proposal  customer.Proposal
	Conflicts []string
	Confirm   []model.Consent
	// Matched lists the channels of the known profile's own contacts the form named
	// (sms: its phone, email: its e-mail): only there may a confirmation be sent.
	Matched  []model.Channel
	Attempts int
}

// NewID returns a random, URL-safe, lower-case identifier (80 bits).
func NewID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// profileItem is the stored profile: the domain fields plus version and index keys.
func profileItem(p customer.Profile, version int64) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(p)
	if err != nil {
		return nil, fmt.Errorf("marshal profile %s: %w", p.ID, err)
	}
	k := CustomerKey(p.ID)
	item[attrPK] = &types.AttributeValueMemberS{Value: k.PK}
	item[attrSK] = &types.AttributeValueMemberS{Value: k.SK}
	item["type"] = &types.AttributeValueMemberS{Value: typeCustomer}
	item["version"] = &types.AttributeValueMemberN{Value: fmt.Sprint(version)}
	if p.Store != "" {
		item[attrGSI4PK] = &types.AttributeValueMemberS{Value: StorePK(p.Store)}
		item[attrGSI4SK] = &types.AttributeValueMemberS{Value: StoreCustomerSK(p.ID)}
	}
	return item, nil
}

// decodeProfile reads a stored profile item.
func decodeProfile(item map[string]types.AttributeValue) (customer.Profile, int64, error) {
	var p customer.Profile
	if err := attributevalue.UnmarshalMap(item, &p); err != nil {
		return p, 0, fmt.Errorf("unmarshal profile: %w", err)
	}
	var v struct {
		Version int64 `dynamodbav:"version"`
	}
	if err := attributevalue.UnmarshalMap(item, &v); err != nil {
		return p, 0, fmt.Errorf("unmarshal profile version: %w", err)
	}
	return p, v.Version, nil
}

// GetProfile reads a profile with a strongly consistent read; ErrNotFound if absent.
func (t *Table) GetProfile(ctx context.Context, id string) (customer.Profile, int64, error) {
	p, v, _, err := t.getProfileItem(ctx, id)
	return p, v, err
}

// getProfileItem also returns the raw item, for attributes other slices own.
func (t *Table) getProfileItem(ctx context.Context, id string) (customer.Profile, int64, map[string]types.AttributeValue, error) {
	if id == "" {
		return customer.Profile{}, 0, nil, ErrNotFound
	}
	item, err := t.getItem(ctx, CustomerKey(id))
	if err != nil {
		return customer.Profile{}, 0, nil, fmt.Errorf("get profile %s: %w", id, err)
	}
	if item == nil {
		return customer.Profile{}, 0, nil, ErrNotFound
	}
	p, v, err := decodeProfile(item)
	if err != nil {
		return p, 0, nil, fmt.Errorf("get profile %s: %w", id, err)
	}
	return p, v, item, nil
}

// profileAttr decodes one attribute of the profile item (e.g. "unsubToken", "emotion")
// into v, reading only it; found=false when the attribute is absent.
func (t *Table) profileAttr(ctx context.Context, id, attr string, v any) (found bool, err error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(t.Name),
		Key:                      CustomerKey(id).av(),
		ProjectionExpression:     aws.String("#a"),
		ExpressionAttributeNames: map[string]string{"#a": attr},
		ReturnConsumedCapacity:   types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return false, fmt.Errorf("get profile %s attribute %s: %w", id, attr, err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	av, ok := out.Item[attr]
	if !ok {
		return false, nil
	}
	if err := attributevalue.Unmarshal(av, v); err != nil {
		return false, fmt.Errorf("decode profile %s attribute %s: %w", id, attr, err)
	}
	return true, nil
}

// lookupUnique reads uniqueness items (consistent, 100 keys a call), returning key PK →
// customer id for those that exist (lookupClaims, with the claim time).
func (t *Table) lookupUnique(ctx context.Context, keys ...Key) (map[string]string, error) {
	claims, err := t.lookupClaims(ctx, keys...)
	if err != nil {
		return nil, err
	}
	found := make(map[string]string, len(claims))
	for pk, c := range claims {
		found[pk] = c.CustomerID
	}
	return found, nil
}

// ownerOf is the customer a uniqueness key names; ErrNotFound when nobody.
func (t *Table) ownerOf(ctx context.Context, k Key) (string, error) {
	owners, err := t.lookupUnique(ctx, k)
	if err != nil {
		return "", err
	}
	id, ok := owners[k.PK]
	if !ok {
		return "", ErrNotFound
	}
	return id, nil
}

func putUnique(tbl string, k Key, customerID string) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(uniqueItem{PK: k.PK, SK: k.SK, Type: typeUnique, CustomerID: customerID})
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("marshal uniqueness key: %w", err)
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(tbl), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(PK)"),
	}}, nil
}

// deleteUnique releases a uniqueness key only if it still names customerID.
func deleteUnique(tbl string, k Key, customerID string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{
		TableName: aws.String(tbl), Key: k.av(),
		ConditionExpression:       aws.String("customerId = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: customerID}},
	}}
}

// touchItem is the stored touch: its fields plus keys and type.
func touchItem(ti TouchItem) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(ti)
	if err != nil {
		return nil, fmt.Errorf("marshal touch: %w", err)
	}
	item[attrPK] = &types.AttributeValueMemberS{Value: CustomerPK(ti.CustomerID)}
	item[attrSK] = &types.AttributeValueMemberS{Value: TouchSK(ti.Touch.At, ti.ID)}
	item["type"] = &types.AttributeValueMemberS{Value: typeTouch}
	return item, nil
}

// putTouch writes a new touch, never over another.
func putTouch(tbl string, ti TouchItem) (types.TransactWriteItem, error) {
	item, err := touchItem(ti)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(tbl), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(PK)")}}, nil
}

// contactUpdate writes this file's attributes of p, conditioned on the version that was
// read; absent (blank) attributes are removed.
func (t *Table) contactUpdate(p customer.Profile, version int64, remove ...string) (*types.Update, error) {
	item, err := attributevalue.MarshalMap(p)
	if err != nil {
		return nil, fmt.Errorf("marshal profile %s: %w", p.ID, err)
	}
	var u expression.UpdateBuilder
	for _, a := range contactAttrs {
		if av, ok := item[a]; ok {
			u = u.Set(expression.Name(a), expression.Value(av))
		} else {
			u = u.Remove(expression.Name(a))
		}
	}
	for _, a := range remove {
		u = u.Remove(expression.Name(a))
	}
	u = u.Set(expression.Name("version"), expression.Value(version+1))
	if p.Store != "" {
		u = u.Set(expression.Name(attrGSI4PK), expression.Value(StorePK(p.Store))).
			Set(expression.Name(attrGSI4SK), expression.Value(StoreCustomerSK(p.ID)))
	}
	expr, err := expression.NewBuilder().WithUpdate(u).WithCondition(profileVersionIs(version)).Build()
	if err != nil {
		return nil, fmt.Errorf("build profile update: %w", err)
	}
	return &types.Update{
		TableName: aws.String(t.Name), Key: CustomerKey(p.ID).av(),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}, nil
}

// ResolveOrCreate lands a lead on its one profile: the existing one found through the
// phone or e-mail uniqueness items, which only gains a touch (nothing stored changes), or
// a new one created together with its uniqueness and referral items. Safe under any
// concurrency: creation is conditional and a lost race re-reads and lands on the winner.
func (t *Table) ResolveOrCreate(ctx context.Context, lead customer.Lead, g customer.Grading, now time.Time) (customer.Profile, bool, error) {
	r, err := t.ResolveLead(ctx, lead, g, now)
	return r.Profile, r.Created, err
}

// ResolveLead is ResolveOrCreate with the details a handler reports and audits.
func (t *Table) ResolveLead(ctx context.Context, lead customer.Lead, g customer.Grading, now time.Time) (LeadResult, error) {
	if lead.Submission.At.IsZero() {
		lead.Submission.At = now
	}
	if lead.Phone == "" && lead.Email == "" {
		return LeadResult{}, fmt.Errorf("resolve lead: a phone or an e-mail is required")
	}
	touchID := NewID()
	for attempt := 1; attempt <= maxResolveAttempts; attempt++ {
		r, err := t.resolveOnce(ctx, lead, g, now, touchID)
		if err == nil {
			r.Attempts, r.TouchID = attempt, touchID
			return r, nil
		}
		if !retryable(err) && !errors.Is(err, ErrVersionConflict) {
			return LeadResult{}, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return LeadResult{}, fmt.Errorf("resolve lead: %w", err)
		}
	}
	return LeadResult{}, fmt.Errorf("resolve lead: %w after %d attempts", ErrVersionConflict, maxResolveAttempts)
}

func (t *Table) resolveOnce(ctx context.Context, lead customer.Lead, g customer.Grading, now time.Time, touchID string) (LeadResult, error) {
	var phone, email, code Key
	keys := []Key{}
	if lead.Phone != "" {
		phone = PhoneKey(lead.Phone)
		keys = append(keys, phone)
	}
	if lead.Email != "" {
		email = EmailKey(lead.Email)
		keys = append(keys, email)
	}
	if lead.ReferralCode != "" {
		code = ReferralKey(lead.ReferralCode)
		keys = append(keys, code)
	}
	claims, err := t.lookupClaims(ctx, keys...)
	if err != nil {
		return LeadResult{}, err
	}
	phoneOwner, emailOwner := claims[phone.PK].CustomerID, claims[email.PK].CustomerID
	owner := phoneOwner
	if owner == "" {
		owner = emailOwner
	}
	if owner != "" {
		other := emailOwner
		if owner == emailOwner {
			other = ""
		}
		if other != "" {
			// Rare: the e-mail is someone else's, or a dangling claim's, which is
			// nobody's (released once old) and no conflict to note on the touch.
			exists, err := t.profileExists(ctx, other)
			if err != nil {
				return LeadResult{}, err
			}
			if !exists {
				if err := t.releaseDangling(ctx, other, now, nil, claims, email); err != nil {
					return LeadResult{}, err
				}
				other = ""
			}
		}
		r, err := t.receive(ctx, owner, other, lead, g, touchID)
		if errors.Is(err, errNoProfile) {
			return LeadResult{}, t.releaseDangling(ctx, owner, now, err, claims, phone, email)
		}
		return r, err
	}
	var referrer string
	if c, ok := claims[code.PK]; ok {
		// A code whose creation died names nobody (a form can only have it by guessing).
		exists, err := t.profileExists(ctx, c.CustomerID)
		if err != nil {
			return LeadResult{}, err
		}
		if exists {
			referrer = c.CustomerID
		}
	}
	return t.create(ctx, lead, g, referrer, touchID, now)
}

// releaseDangling answers a lead whose phone or e-mail key names customer id, who has no
// profile (err): a creation in flight, or one that died after its claims. Keys naming id
// whose claim is older than ClaimGrace are released; either way the lead is resolved
// again (err is a retryable conflict), and then finds the keys free or the profile there.
func (t *Table) releaseDangling(ctx context.Context, id string, now time.Time, err error, claims map[string]claim, keys ...Key) error {
	for _, k := range keys {
		c, ok := claims[k.PK]
		if !ok || c.CustomerID != id || !c.older(now) {
			continue
		}
		if rerr := t.releaseClaim(ctx, k, c); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return err
}

// create writes a new profile with its uniqueness keys, referral code and first touch
// (createProfile). A uniqueness key taken meanwhile fails it: the caller re-resolves and
// lands on the person who has it.
func (t *Table) create(ctx context.Context, lead customer.Lead, g customer.Grading, referrer, touchID string, now time.Time) (LeadResult, error) {
	return t.createProfile(ctx, lead, g, referrer, touchID, nil, now)
}

// errNoProfile: a uniqueness key names a customer who has no profile (a creation in
// flight or a dangling claim); a retryable conflict.
var errNoProfile = fmt.Errorf("a uniqueness key names a customer without a profile: %w", ErrVersionConflict)

// receive lands a lead on customer id, a person we already know, by writing its touch
// and nothing else: the profile (contacts, name, birthday, store, tags, grade, referrer,
// consent) stays exactly as stored, because a form proves nothing about who posted it.
// What the form said differently is kept on the touch as a proposal for staff.
// otherEmailOwner is the customer the lead's e-mail belongs to when that is not id: the
// disagreement is recorded on the touch.
//
// The touch is one conditional PutItem, outside any transaction: a known person's form
// costs one small write, and many forms of one person never contend for the profile.
func (t *Table) receive(ctx context.Context, id, otherEmailOwner string, lead customer.Lead, g customer.Grading, touchID string) (LeadResult, error) {
	p, version, err := t.GetProfile(ctx, id)
	if errors.Is(err, ErrNotFound) {
		// The key was claimed but the profile is not there (yet): resolveOnce decides.
		return LeadResult{}, fmt.Errorf("lead for %s: %w", id, errNoProfile)
	}
	if err != nil {
		return LeadResult{}, err
	}
	k, err := p.Receive(lead)
	if errors.Is(err, customer.ErrErased) {
		return LeadResult{}, fmt.Errorf("lead for %s: %w", id, ErrVersionConflict)
	}
	if err != nil {
		return LeadResult{}, err
	}
	if otherEmailOwner != "" && otherEmailOwner != id {
		k.Conflicts = append(k.Conflicts, "email:belongs-to-another-customer")
	}
	var matched []model.Channel
	if lead.Phone != "" && lead.Phone == p.Phone {
		matched = append(matched, model.ChannelSMS)
	}
	if lead.Email != "" && lead.Email == p.Email {
		matched = append(matched, model.ChannelEmail)
	}
	ti := TouchItem{CustomerID: id, ID: touchID, Touch: customer.TouchOf(lead, g), Conflicts: k.Conflicts, PendingConsents: k.Confirm}
	if !k.Proposal.IsZero() {
		ti.Proposed = &k.Proposal
	}
	put, err := putTouch(t.Name, ti)
	if err != nil {
		return LeadResult{}, err
	}
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: put.Put.TableName, Item: put.Put.Item, ConditionExpression: put.Put.ConditionExpression,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		t.Units.add(true)
		return LeadResult{}, fmt.Errorf("touch for %s: %w", id, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return LeadResult{Profile: p, Version: version, TouchRef: TouchRef(lead.Submission.At, touchID),
		Proposal: k.Proposal, Conflicts: k.Conflicts, Confirm: k.Confirm, Matched: matched}, nil
}

// saveProfile writes a changed profile (a staff edit, Staff.SaveProfile) conditioned on
// version. A phone or e-mail that changed moves its uniqueness key in the same
// transaction; a key owned by someone else is ErrContactTaken, a version that moved is
// ErrVersionConflict. extra items (the sealed section) are written in the same
// transaction.
func (t *Table) saveProfile(ctx context.Context, prev customer.Profile, version int64, next customer.Profile, extra ...types.TransactWriteItem) error {
	upd, err := t.contactUpdate(next, version)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Update: upd}}
	firstKey := len(items)
	for _, c := range []struct{ old, new Key }{
		{PhoneKey(prev.Phone), PhoneKey(next.Phone)},
		{EmailKey(prev.Email), EmailKey(next.Email)},
	} {
		if c.old == c.new {
			continue
		}
		if !strings.HasSuffix(c.new.PK, "#") {
			u, err := putUnique(t.Name, c.new, next.ID)
			if err != nil {
				return err
			}
			items = append(items, u)
		}
		if !strings.HasSuffix(c.old.PK, "#") {
			items = append(items, deleteUnique(t.Name, c.old, next.ID))
		}
	}
	items = append(items, extra...)
	err = t.transact(ctx, items)
	if err == nil {
		return nil
	}
	if failed := cancelReasons(err); failed != nil {
		if failed[0] {
			return fmt.Errorf("save profile %s: %w", next.ID, ErrVersionConflict)
		}
		if slices.Contains(failed[firstKey:], true) {
			return fmt.Errorf("save profile %s: %w", next.ID, ErrContactTaken)
		}
	}
	return fmt.Errorf("save profile %s: %w", next.ID, err)
}

// Touches returns the customer's lead touches, oldest first.
func (t *Table) Touches(ctx context.Context, customerID string) ([]TouchItem, error) {
	items, err := t.query(ctx, CustomerPK(customerID), prefixTouch)
	if err != nil {
		return nil, err
	}
	out := make([]TouchItem, 0, len(items))
	for _, it := range items {
		var ti TouchItem
		if err := attributevalue.UnmarshalMap(it, &ti); err != nil {
			return nil, fmt.Errorf("decode touch: %w", err)
		}
		out = append(out, ti)
	}
	return out, nil
}

// ListQuery selects customers of one store through the customers-by-store index.
type ListQuery struct {
	Store     string
	Tier      string // "" any
	Stage     string // "" any
	Tag       string // "" any
	LeadGrade string // "" any
	Limit     int32
	Cursor    string
}

// ListCustomers returns one page of a store's customers, by id, and the cursor of the
// next page ("" at the end). Tag and lead grade are filters on what the index projects;
// the page's profiles are then read in one batch (the index carries no personal data to
// return) and tier and stage filtered on them (the index does not carry them, so a tier
// move never writes it). A page may hold fewer than Limit rows while more follow.
func (t *Table) ListCustomers(ctx context.Context, q ListQuery) ([]customer.Profile, string, error) {
	kc := expression.Key(attrGSI4PK).Equal(expression.Value(StorePK(q.Store)))
	b := expression.NewBuilder().WithKeyCondition(kc)
	f := expression.Name("type").Equal(expression.Value(typeCustomer))
	if q.Tag != "" {
		f = f.And(expression.Contains(expression.Name("tags"), q.Tag))
	}
	if q.LeadGrade != "" {
		f = f.And(expression.Name("leadGrade").Equal(expression.Value(q.LeadGrade)))
	}
	expr, err := b.WithFilter(f).Build()
	if err != nil {
		return nil, "", fmt.Errorf("build customer list query: %w", err)
	}
	limit := q.Limit
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	entries, next, err := t.queryPage(ctx, &dynamodb.QueryInput{
		IndexName: aws.String(IndexCustomers), KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(), Limit: aws.Int32(limit),
	}, q.Cursor, attrGSI4PK, StorePK(q.Store))
	if err != nil {
		return nil, "", fmt.Errorf("list customers of %s: %w", q.Store, err)
	}
	keys := make([]Key, 0, len(entries))
	for _, it := range entries {
		var e struct {
			ID string `dynamodbav:"id"`
		}
		if err := attributevalue.UnmarshalMap(it, &e); err != nil || e.ID == "" {
			return nil, "", fmt.Errorf("list customers of %s: an index entry without its id", q.Store)
		}
		keys = append(keys, CustomerKey(e.ID))
	}
	items, err := t.batchGet(ctx, keys)
	if err != nil {
		return nil, "", fmt.Errorf("list customers of %s: %w", q.Store, err)
	}
	ps := make([]customer.Profile, 0, len(items))
	for _, k := range keys { // the index's order, not the batch's
		it, ok := items[k]
		if !ok {
			continue // erased between the two reads
		}
		p, _, err := decodeProfile(it)
		if err != nil {
			return nil, "", err
		}
		if (q.Tier != "" && string(p.Tier) != q.Tier) || (q.Stage != "" && string(p.Stage) != q.Stage) {
			continue
		}
		ps = append(ps, p)
	}
	return ps, next, nil
}

// EraseCustomer erases a person (customer.Profile.Erase) everywhere this package copied
// them: the profile's personal attributes are removed under the version it read, and in the
// same transaction the sealed section and the phone, e-mail, referral and unsubscribe keys
// that still name the customer are deleted; then every touch item is rewritten to its
// anonymous part (time, channel, campaign, grade). Erasing twice changes nothing more.
// Pending reminders are the follow-up service's to cancel.
func (t *Table) EraseCustomer(ctx context.Context, id string, now time.Time) (customer.Profile, error) {
	for attempt := 1; ; attempt++ {
		p, err := t.eraseOnce(ctx, id, now)
		if err == nil || !errors.Is(err, ErrVersionConflict) || attempt >= 20 {
			if err != nil {
				return p, err
			}
			break
		}
		if err := backoff(ctx, attempt); err != nil {
			return customer.Profile{}, err
		}
	}
	if err := t.anonymiseTouches(ctx, id); err != nil {
		return customer.Profile{}, err
	}
	p, _, err := t.GetProfile(ctx, id)
	return p, err
}

func (t *Table) eraseOnce(ctx context.Context, id string, now time.Time) (customer.Profile, error) {
	p, version, raw, err := t.getProfileItem(ctx, id)
	if err != nil {
		return p, err
	}
	keys := []Key{PhoneKey(p.Phone), EmailKey(p.Email), ReferralKey(p.ReferralCode)}
	if tok, ok := raw["unsubToken"].(*types.AttributeValueMemberS); ok && tok.Value != "" {
		keys = append(keys, UnsubscribeKey(tok.Value))
	}
	if rk, ok := raw[attrCustomerRef].(*types.AttributeValueMemberS); ok && rk.Value != "" {
		keys = append(keys, uniqueKey(rk.Value)) // the business's number: released like a phone
	}
	var live []Key
	for _, k := range keys {
		if !strings.HasSuffix(k.PK, "#") {
			live = append(live, k)
		}
	}
	owners, err := t.lookupUnique(ctx, live...)
	if err != nil {
		return p, err
	}
	var items []types.TransactWriteItem
	if !p.Erased() {
		upd, err := t.contactUpdate(p.Erase(now), version, attrCustomerRef)
		if err != nil {
			return p, err
		}
		items = append(items, types.TransactWriteItem{Update: upd})
	}
	for _, k := range live {
		if owners[k.PK] == id {
			items = append(items, deleteUnique(t.Name, k, id))
		}
	}
	items = append(items, t.deleteSensitive(id))
	if err := t.transact(ctx, items); err != nil {
		if retryable(err) {
			return p, fmt.Errorf("erase %s: %w", id, ErrVersionConflict)
		}
		return p, fmt.Errorf("erase %s: %w", id, err)
	}
	return p, nil
}

// anonymiseTouches rewrites each touch item to what Erase keeps of a touch.
func (t *Table) anonymiseTouches(ctx context.Context, id string) error {
	touches, err := t.Touches(ctx, id)
	if err != nil {
		return err
	}
	var reqs []types.WriteRequest
	for _, ti := range touches {
		tc := ti.Touch
		ti.Touch = customer.Touch{At: tc.At, Channel: tc.Channel, Grade: tc.Grade,
			UTM: customer.UTM{Source: tc.UTM.Source, Medium: tc.UTM.Medium, Campaign: tc.UTM.Campaign}}
		// What a form proposed is what a person typed, and a pending consent carries their
		// IP; a confirmation link minted later finds nothing left to confirm.
		ti.Proposed, ti.PendingConsents = nil, nil
		item, err := touchItem(ti)
		if err != nil {
			return err
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	return t.batchWrite(ctx, reqs)
}

// profileVersionIs is the optimistic lock every profile update carries: the version read
// (0: a profile created before versions were kept, which must still exist).
func profileVersionIs(version int64) expression.ConditionBuilder {
	if version == 0 {
		return expression.AttributeExists(expression.Name(attrPK)).And(expression.AttributeNotExists(expression.Name("version")))
	}
	return expression.Name("version").Equal(expression.Value(version))
}

// ProfileSizes are the sizes of every profile in the table, in bytes as DynamoDB counts
// them for capacity (itemSize): what a profile write or read costs follows from them.
// One Query per shard (make cost reads them after it has measured).
func (t *Table) ProfileSizes(ctx context.Context) ([]int, error) {
	var sizes []int
	err := t.queryProfiles(ctx, 0, 1, "", nil, func(it map[string]types.AttributeValue) error {
		sizes = append(sizes, itemSize(it))
		return nil
	})
	return sizes, err
}

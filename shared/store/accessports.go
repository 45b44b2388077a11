package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/customer"
)

// This file implements the ports of shared/access: what the access layer reads to decide
// whether a staff member may see what their request names, and the customers a posted
// transaction creates.

var (
	_ access.Customers = (*Table)(nil)
	_ access.AuditLog  = (*Table)(nil)
	_ access.TxnPorts  = (*Table)(nil)
)

// attrCustomerRef is the profile attribute naming the customer-number key of a customer a
// transaction created by number, so that erasure releases it.
const attrCustomerRef = "customerRefKey"

// CustomerView implements access.Customers: the profile in one strongly consistent read.
func (t *Table) CustomerView(ctx context.Context, id string) (customer.View, bool, error) {
	v, err := t.GetProfileView(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return customer.View{}, false, nil
	}
	return v, err == nil, err
}

// CustomerStores implements access.TxnPorts: the store of each existing customer, in
// consistent batch reads of up to 100 profiles projecting only the store.
func (t *Table) CustomerStores(ctx context.Context, ids []string) (map[string]string, error) {
	keys := make([]Key, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			keys = append(keys, CustomerKey(id))
		}
	}
	items, err := t.batchGet(ctx, keys, "id", "store")
	if err != nil {
		return nil, fmt.Errorf("read customers' stores: %w", err)
	}
	out := make(map[string]string, len(items))
	for _, it := range items {
		var row struct {
			ID    string `dynamodbav:"id"`
			Store string `dynamodbav:"store"`
		}
		if err := attributevalue.UnmarshalMap(it, &row); err != nil {
			return nil, fmt.Errorf("decode customer's store: %w", err)
		}
		out[row.ID] = row.Store
	}
	return out, nil
}

// CustomersByRef implements access.TxnPorts through the customer-number uniqueness items.
func (t *Table) CustomersByRef(ctx context.Context, refs []access.Ref) (map[access.Ref]string, error) {
	out := map[access.Ref]string{}
	for start := 0; start < len(refs); start += 100 {
		chunk := refs[start:min(start+100, len(refs))]
		keys := make([]Key, len(chunk))
		for i, r := range chunk {
			keys[i] = CustomerRefKey(r.Store, r.Number)
		}
		owners, err := t.lookupUnique(ctx, keys...)
		if err != nil {
			return nil, fmt.Errorf("look up customer numbers: %w", err)
		}
		for i, r := range chunk {
			if id := owners[keys[i].PK]; id != "" {
				out[r] = id
			}
		}
	}
	return out, nil
}

// CreateByRef implements access.TxnPorts: a customer of the store known only by the
// business's number, created with the number's uniqueness item in one transaction.
func (t *Table) CreateByRef(ctx context.Context, ref access.Ref, at time.Time) (string, error) {
	lead := customer.Lead{Store: ref.Store, Submission: customer.Submission{At: at, Channel: "api"}}
	k := CustomerRefKey(ref.Store, ref.Number)
	r, err := t.createProfile(ctx, lead, customer.DefaultGradePolicy().Grade(lead), "", NewID(), &k)
	if errors.Is(err, ErrContactTaken) {
		return "", access.ErrTaken
	}
	return r.Profile.ID, err
}

// CreateByContact implements access.TxnPorts: a new customer with the lead's phone and
// e-mail; never a merge into whoever holds them, which the layer decides about.
func (t *Table) CreateByContact(ctx context.Context, lead customer.Lead, g customer.Grading, at time.Time) (string, error) {
	if lead.Submission.At.IsZero() {
		lead.Submission.At = at
	}
	r, err := t.createProfile(ctx, lead, g, "", NewID(), nil)
	if errors.Is(err, ErrContactTaken) {
		return "", access.ErrTaken
	}
	return r.Profile.ID, err
}

// createProfile writes a new profile with its uniqueness keys (phone, e-mail and, when
// given, the customer number), referral code and first touch in one transaction. A
// uniqueness key taken meanwhile cancels it with ErrContactTaken; a clashing referral code
// is redrawn.
func (t *Table) createProfile(ctx context.Context, lead customer.Lead, g customer.Grading, referrer, touchID string, ref *Key) (LeadResult, error) {
	for draw := 0; draw < 5; draw++ {
		code, err := customer.NewReferralCode(rand.Reader)
		if err != nil {
			return LeadResult{}, err
		}
		id := NewID()
		p := customer.NewProfile(id, code, referrer, lead, g)
		item, err := profileItem(p, 1)
		if err != nil {
			return LeadResult{}, err
		}
		keys := []Key{PhoneKey(p.Phone), EmailKey(p.Email)}
		if ref != nil {
			item[attrCustomerRef] = &types.AttributeValueMemberS{Value: ref.PK}
			keys = append(keys, *ref)
		}
		items := []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(t.Name), Item: item,
			ConditionExpression: aws.String("attribute_not_exists(PK)")}}}
		refIdx := len(items)
		rc, err := putUnique(t.Name, ReferralKey(code), id)
		if err != nil {
			return LeadResult{}, err
		}
		items = append(items, rc)
		for _, k := range keys {
			if strings.HasSuffix(k.PK, "#") {
				continue
			}
			u, err := putUnique(t.Name, k, id)
			if err != nil {
				return LeadResult{}, err
			}
			items = append(items, u)
		}
		touch, err := putTouch(t.Name, TouchItem{CustomerID: id, ID: touchID, Touch: p.Touches[len(p.Touches)-1], Created: true})
		if err != nil {
			return LeadResult{}, err
		}
		items = append(items, touch)
		err = t.transact(ctx, items)
		if err == nil {
			return LeadResult{Profile: p, Version: 1, Created: true, TouchRef: TouchRef(lead.Submission.At, touchID)}, nil
		}
		failed := cancelReasons(err)
		if failed == nil {
			return LeadResult{}, fmt.Errorf("create customer: %w", err)
		}
		others := append(slices.Clone(failed[:refIdx]), failed[refIdx+1:]...)
		if failed[refIdx] && !slices.Contains(others, true) {
			continue // only the referral code clashed: draw another
		}
		if !slices.Contains(others, true) {
			return LeadResult{}, fmt.Errorf("create customer: %w", err) // a conflict in flight: retryable
		}
		// A phone, e-mail or number is someone's now (the profile id is fresh): the
		// wrapped cancellation keeps it retryable for lead resolution.
		return LeadResult{}, fmt.Errorf("create customer: %w: %w", ErrContactTaken, err)
	}
	return LeadResult{}, fmt.Errorf("create customer: no free referral code after 5 draws")
}

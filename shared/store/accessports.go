package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

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
// A number whose key names a customer without a profile (a creation in flight, or one
// that died: claims.go) is nobody's yet: it is absent, and creating it settles which.
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
		profiles := make([]Key, 0, len(owners))
		for _, id := range owners {
			profiles = append(profiles, CustomerKey(id))
		}
		exist, err := t.batchGet(ctx, profiles, "id")
		if err != nil {
			return nil, fmt.Errorf("look up customer numbers' profiles: %w", err)
		}
		for i, r := range chunk {
			if id := owners[keys[i].PK]; id != "" && exist[CustomerKey(id)] != nil {
				out[r] = id
			}
		}
	}
	return out, nil
}

// CreateByRef implements access.TxnPorts: a customer of the store known only by the
// business's number, which it claims before its profile is written (createProfile). at
// is the caller's clock.
func (t *Table) CreateByRef(ctx context.Context, ref access.Ref, at time.Time) (string, error) {
	lead := customer.Lead{Store: ref.Store, Submission: customer.Submission{At: at, Channel: "api"}}
	k := CustomerRefKey(ref.Store, ref.Number)
	r, err := t.createProfile(ctx, lead, customer.DefaultGradePolicy().Grade(lead), "", NewID(), &k, at)
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
	r, err := t.createProfile(ctx, lead, g, "", NewID(), nil, at)
	if errors.Is(err, ErrContactTaken) {
		return "", access.ErrTaken
	}
	return r.Profile.ID, err
}

// createProfile creates a customer without a transaction (claims.go): it claims the
// referral code, then the phone, e-mail and, when given, customer-number keys, each with
// a conditional PutItem naming the new id and now; then puts the profile, then the first
// touch. A key held by someone else releases what this attempt claimed: a clashing
// referral code is redrawn; a phone, e-mail or number is ErrContactTaken, wrapping the
// condition failure so that lead resolution re-resolves. A key held by a dangling claim
// (older than ClaimGrace, without a profile) is released and claimed. now is the claim
// time others compare with ClaimGrace: the caller's clock, never a time a client sent.
func (t *Table) createProfile(ctx context.Context, lead customer.Lead, g customer.Grading, referrer, touchID string, ref *Key, now time.Time) (LeadResult, error) {
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
		if ref != nil {
			item[attrCustomerRef] = &types.AttributeValueMemberS{Value: ref.PK}
		}
		touch, err := touchItem(TouchItem{CustomerID: id, ID: touchID, Touch: p.Touches[len(p.Touches)-1], Created: true})
		if err != nil {
			return LeadResult{}, err
		}
		err = t.claimAndPut(ctx, creationKeys(p, ref), id, item, now)
		var held *errKeyHeld
		switch {
		case errors.As(err, &held) && held.key == ReferralKey(code):
			continue // only the referral code clashed: draw another
		case errors.As(err, &held):
			// A phone, e-mail or number is someone's (or a creation's in flight): the
			// wrapped condition failure keeps it retryable for lead resolution.
			return LeadResult{}, fmt.Errorf("create customer: %w: %w", ErrContactTaken, err)
		case err != nil:
			return LeadResult{}, fmt.Errorf("create customer: %w", err)
		}
		// The customer exists from here on. A touch lost to a crash is the only loss: the
		// form's retry lands on the person as a known one and writes it then.
		if err := t.putNew(ctx, touch); err != nil {
			return LeadResult{}, fmt.Errorf("create customer %s: first touch: %w", id, err)
		}
		return LeadResult{Profile: p, Version: 1, Created: true, TouchRef: TouchRef(lead.Submission.At, touchID)}, nil
	}
	return LeadResult{}, fmt.Errorf("create customer: no free referral code after 5 draws")
}

// creationKeys are the uniqueness keys a new profile claims, in the order it claims
// them: the referral code first, so that a clash there (redrawn) costs nothing else.
func creationKeys(p customer.Profile, ref *Key) []Key {
	keys := []Key{ReferralKey(p.ReferralCode)}
	for _, k := range []Key{PhoneKey(p.Phone), EmailKey(p.Email)} {
		if !strings.HasSuffix(k.PK, "#") {
			keys = append(keys, k)
		}
	}
	if ref != nil {
		keys = append(keys, *ref)
	}
	return keys
}

// claimAndPut claims keys for id and puts the profile item, within claimDeadline of the
// first claim. Claims are released when the profile was surely not written (a key held,
// a request refused); when the outcome is unknown they stay, and ClaimGrace frees them.
func (t *Table) claimAndPut(ctx context.Context, keys []Key, id string, profile map[string]types.AttributeValue, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, claimDeadline)
	defer cancel()
	if err := t.claimAll(ctx, keys, id, now); err != nil {
		return err
	}
	err := t.putNew(ctx, profile)
	var api smithy.APIError
	if err != nil && errors.As(err, &api) && api.ErrorFault() == smithy.FaultClient {
		mine := claim{CustomerID: id, ClaimedAt: now.UTC().Format(time.RFC3339Nano)}
		for _, k := range keys {
			if rerr := t.releaseClaim(context.WithoutCancel(ctx), k, mine); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("put profile %s: %w", id, err)
	}
	return nil
}

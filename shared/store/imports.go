package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/customer"
)

// This file is the store side of POST /v1/customers, the route a business's own customer
// list is imported through: find the store's customer by the business's number, create
// one with a profile, or give a customer found by phone or e-mail the number.

// ErrRefTaken: the store's customer number belongs to another customer.
var ErrRefTaken = errors.New("store: the customer number belongs to another customer")

// ErrHasRef: the customer already has another number.
var ErrHasRef = errors.New("store: the customer already has another customer number")

// CustomerByRef finds the customer with the business's number in the store the grant
// names; the access layer then resolves the id for the caller like any other.
func (s *Staff) CustomerByRef(ctx context.Context, st access.Store, number string) (string, bool, error) {
	if st.ID() == "" {
		return "", false, errNoGrant
	}
	ref := access.Ref{Store: st.ID(), Number: number}
	found, err := s.t.CustomersByRef(ctx, []access.Ref{ref})
	if err != nil {
		return "", false, err
	}
	id, ok := found[ref]
	return id, ok, nil
}

// CreateCustomer creates a customer of the granted store with the lead's name, contacts
// and birthday and, when number is not empty, the business's number, each uniqueness key
// claimed before the profile is written (createProfile; the lead's submission time is
// the claim time). A phone or e-mail of someone else is a *ContactTakenError naming
// them; a number taken meanwhile is access.ErrTaken.
func (s *Staff) CreateCustomer(ctx context.Context, st access.Store, lead customer.Lead, number string) (string, error) {
	if st.ID() == "" {
		return "", errNoGrant
	}
	lead.Store = st.ID()
	var ref *Key
	if number != "" {
		k := CustomerRefKey(st.ID(), number)
		ref = &k
	}
	now := lead.Submission.At
	if now.IsZero() {
		now = time.Now()
	}
	r, err := s.t.createProfile(ctx, lead, customer.DefaultGradePolicy().Grade(lead), "", NewID(), ref, now)
	if !errors.Is(err, ErrContactTaken) {
		return r.Profile.ID, err
	}
	// Whose is it? A contact's owner is named (for their audit log); a number taken
	// meanwhile, or a contact released meanwhile, is a race the caller resolves again.
	for _, k := range []struct {
		field string
		key   Key
	}{{"phone", PhoneKey(lead.Phone)}, {"email", EmailKey(lead.Email)}} {
		if strings.HasSuffix(k.key.PK, "#") {
			continue
		}
		owners, lerr := s.t.lookupUnique(ctx, k.key)
		if lerr != nil {
			return "", errors.Join(err, lerr)
		}
		if o := owners[k.key.PK]; o != "" {
			return "", fmt.Errorf("create customer: %w", &ContactTakenError{Field: k.field, Owner: o})
		}
	}
	return "", fmt.Errorf("create customer: %w", access.ErrTaken)
}

// AttachRef gives a resolved customer of the granted store, who has no number yet, the
// business's number: the number's uniqueness item and the profile's pointer to it in one
// transaction (erasure releases it). The profile's version is left alone, so a staff
// edit read before is not refused for it. ErrRefTaken or ErrHasRef when it cannot be.
func (s *Staff) AttachRef(ctx context.Context, c access.Customer, number string) error {
	if c.ID() == "" || number == "" {
		return errNoGrant
	}
	k := CustomerRefKey(c.View().Store, number)
	put, err := putUnique(s.t.Name, k, c.ID())
	if err != nil {
		return err
	}
	upd := types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.t.Name), Key: CustomerKey(c.ID()).av(),
		UpdateExpression:         aws.String("SET #ref = :ref"),
		ConditionExpression:      aws.String("attribute_exists(PK) AND attribute_not_exists(#ref) AND attribute_not_exists(erasedAt)"),
		ExpressionAttributeNames: map[string]string{"#ref": attrCustomerRef},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":ref": &types.AttributeValueMemberS{Value: k.PK},
		},
	}}
	err = s.t.transact(ctx, []types.TransactWriteItem{put, upd})
	switch failed := cancelReasons(err); {
	case err == nil:
		return nil
	case len(failed) == 2 && failed[0]:
		return fmt.Errorf("attach number to %s: %w", c.ID(), ErrRefTaken)
	case len(failed) == 2 && failed[1]:
		return fmt.Errorf("attach number to %s: %w", c.ID(), ErrHasRef)
	}
	return fmt.Errorf("attach number to %s: %w", c.ID(), err)
}

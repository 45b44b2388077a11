package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A new customer is created without a transaction (a transactional write bills twice a
// plain one): first each uniqueness key is claimed with a conditional PutItem naming the
// new id and the claim time, then the profile is put, then the first touch. The profile
// is the commit point: a key naming an id without a profile is a creation in flight or,
// once ClaimGrace has passed, one that died between its claims and its profile (a
// "dangling" claim), which whoever meets it may release.

// ClaimGrace is how long a uniqueness key naming a customer who has no profile is taken
// for a creation still in flight. A creation gives up before half of it has passed
// (claimDeadline), so a claim older than this whose profile is missing belongs to a
// creation that died, and is released by the next one that needs the key.
const ClaimGrace = 2 * time.Minute

// claimDeadline bounds one creation from its first claim to its profile, well inside
// ClaimGrace: a creation slower than that stops before writing a profile whose keys
// someone may already have released.
const claimDeadline = ClaimGrace / 2

// attrClaimedAt is the claim time on a uniqueness key written by a creation.
const attrClaimedAt = "claimedAt"

// claim is what a uniqueness key says: whose it is and, for a key a creation claimed,
// when (RFC 3339, UTC; "" for keys written together with their profile, which are
// never dangling).
type claim struct {
	CustomerID string `dynamodbav:"customerId"`
	ClaimedAt  string `dynamodbav:"claimedAt,omitempty"`
}

// older reports whether the claim was made more than ClaimGrace before now. A claim
// without a time is old.
func (c claim) older(now time.Time) bool {
	at, err := time.Parse(time.RFC3339Nano, c.ClaimedAt)
	return err != nil || now.Sub(at) > ClaimGrace
}

// lookupClaims reads uniqueness items (consistent, 100 keys a call), returning key PK →
// claim for those that exist.
func (t *Table) lookupClaims(ctx context.Context, keys ...Key) (map[string]claim, error) {
	var live []Key
	for _, k := range keys {
		if k.PK != "" {
			live = append(live, k)
		}
	}
	items, err := t.batchGet(ctx, live, "customerId", attrClaimedAt)
	if err != nil {
		return nil, fmt.Errorf("look up uniqueness keys: %w", err)
	}
	found := make(map[string]claim, len(items))
	for k, it := range items {
		var c claim
		if err := attributevalue.UnmarshalMap(it, &c); err != nil {
			return nil, fmt.Errorf("decode uniqueness key: %w", err)
		}
		found[k.PK] = c
	}
	return found, nil
}

// errKeyHeld: a claim found the key someone else's; held says whose.
type errKeyHeld struct {
	key  Key
	held claim
	err  error // the ConditionalCheckFailedException
}

// Error names no key: a key holds a phone or e-mail, which no log may read.
func (e *errKeyHeld) Error() string { return "uniqueness key held: " + e.err.Error() }
func (e *errKeyHeld) Unwrap() error { return e.err }

// claimKey writes the uniqueness key k naming id, claimed at now, unless it exists; an
// existing key is an *errKeyHeld carrying what it says (read in the same call).
func (t *Table) claimKey(ctx context.Context, k Key, id string, now time.Time) error {
	item, err := attributevalue.MarshalMap(uniqueItem{PK: k.PK, SK: k.SK, Type: typeUnique, CustomerID: id})
	if err != nil {
		return fmt.Errorf("marshal uniqueness key: %w", err)
	}
	item[attrClaimedAt] = &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)}
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.Name), Item: item,
		ConditionExpression:                 aws.String("attribute_not_exists(PK)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		t.Units.add(true)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			var held claim
			if derr := attributevalue.UnmarshalMap(ccf.Item, &held); derr != nil {
				return fmt.Errorf("decode uniqueness key: %w", derr)
			}
			return &errKeyHeld{key: k, held: held, err: err}
		}
		return fmt.Errorf("claim uniqueness key: %w", err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// releaseClaim deletes the uniqueness key k if it still says c (same customer, same claim
// time); a key that says anything else now is left alone.
func (t *Table) releaseClaim(ctx context.Context, k Key, c claim) error {
	cond := "customerId = :id AND claimedAt = :at"
	vals := map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: c.CustomerID}}
	if c.ClaimedAt == "" {
		cond = "customerId = :id AND attribute_not_exists(claimedAt)"
	} else {
		vals[":at"] = &types.AttributeValueMemberS{Value: c.ClaimedAt}
	}
	out, err := t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(t.Name), Key: k.av(),
		ConditionExpression: aws.String(cond), ExpressionAttributeValues: vals,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		t.Units.add(true)
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil
		}
		return fmt.Errorf("release uniqueness key: %w", err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// profileExists reads whether customer id has a profile (consistent, the key only).
func (t *Table) profileExists(ctx context.Context, id string) (bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: CustomerKey(id).av(), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("PK"), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return false, fmt.Errorf("read profile %s: %w", id, err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	return len(out.Item) > 0, nil
}

// releaseIfDangling releases the key k that says c when c is a dangling claim: older than
// ClaimGrace at now and naming a customer without a profile. released reports whether
// the key is free now (as far as c goes).
func (t *Table) releaseIfDangling(ctx context.Context, k Key, c claim, now time.Time) (released bool, err error) {
	if !c.older(now) {
		return false, nil
	}
	exists, err := t.profileExists(ctx, c.CustomerID)
	if err != nil || exists {
		return false, err
	}
	if err := t.releaseClaim(ctx, k, c); err != nil {
		return false, err
	}
	return true, nil
}

// claimAll claims keys for id in order. A key held by someone else stops it: what this
// call claimed is released, and the *errKeyHeld (or other error) is returned. A key held
// by a dangling claim is released and claimed once more.
func (t *Table) claimAll(ctx context.Context, keys []Key, id string, now time.Time) error {
	mine := claim{CustomerID: id, ClaimedAt: now.UTC().Format(time.RFC3339Nano)}
	for i, k := range keys {
		err := t.claimKey(ctx, k, id, now)
		var held *errKeyHeld
		if errors.As(err, &held) {
			var freed bool
			if freed, err = t.releaseIfDangling(ctx, k, held.held, now); err == nil {
				err = held
				if freed {
					err = t.claimKey(ctx, k, id, now)
				}
			}
		}
		if err != nil {
			// Release what this call claimed, and the key that failed in case its write
			// landed after all; each only while it still names this claim.
			release := context.WithoutCancel(ctx)
			claimed := keys[:i+1]
			if errors.As(err, &held) {
				claimed = keys[:i]
			}
			for _, done := range claimed {
				if rerr := t.releaseClaim(release, done, mine); rerr != nil {
					return errors.Join(err, rerr)
				}
			}
			return err
		}
	}
	return nil
}

// putNew writes an item that must not exist yet (a fresh profile or touch).
func (t *Table) putNew(ctx context.Context, item map[string]types.AttributeValue) error {
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.Name), Item: item,
		ConditionExpression:    aws.String("attribute_not_exists(PK)"),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		t.Units.add(true)
		return err
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/tiering"
)

// PolicyKindTiering is the kind of the tier policy document.
const PolicyKindTiering = "tiering"

// DefaultPolicyVersion is the version of the embedded default policy: it is in force
// until an admin stores one, and the first stored version is the next one.
const DefaultPolicyVersion = 1

// ErrPolicyConflict: the current version is no longer the one the writer expected.
var ErrPolicyConflict = errors.New("the policy was changed by someone else")

// PolicyVersion is one stored, immutable policy document.
type PolicyVersion struct {
	Version int             `json:"version"`
	At      time.Time       `json:"at"`
	By      string          `json:"by"`
	Policy  *tiering.Policy `json:"policy"`
}

// CurrentPolicy returns the tier policy in force and whether it is stored (false: the
// embedded default). CURRENT carries a copy of the document so that one read suffices.
func (t *Table) CurrentPolicy(ctx context.Context) (*tiering.Policy, bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.Name), Key: PolicyCurrentKey(PolicyKindTiering).av(),
		ConsistentRead: aws.Bool(true), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		return nil, false, fmt.Errorf("read current policy: %w", err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return tiering.DefaultPolicy(), false, nil
	}
	doc, ok := out.Item["doc"].(*types.AttributeValueMemberS)
	if !ok {
		return nil, false, fmt.Errorf("read current policy: item has no document")
	}
	p, err := tiering.ParsePolicy([]byte(doc.Value))
	if err != nil {
		return nil, false, fmt.Errorf("read current policy: stored document: %w", err)
	}
	return p, true, nil
}

// PutPolicy stores p as version expected+1 and makes it current, in one transaction:
// the version item must not exist and CURRENT must still be at expected (absent when
// expected is the default's version). It returns ErrPolicyConflict otherwise.
func (t *Table) PutPolicy(ctx context.Context, p *tiering.Policy, expected int, by string, now time.Time) (int, error) {
	next := expected + 1
	p = p.Clone()
	p.Version = next
	doc, err := marshalPolicy(p)
	if err != nil {
		return 0, err
	}
	at := now.UTC().Format(time.RFC3339Nano)
	vk := PolicyVersionKey(PolicyKindTiering, next).av()
	vk["version"] = &types.AttributeValueMemberN{Value: strconv.Itoa(next)}
	vk["doc"] = &types.AttributeValueMemberS{Value: doc}
	vk["at"] = &types.AttributeValueMemberS{Value: at}
	vk["by"] = &types.AttributeValueMemberS{Value: by}
	cur := PolicyCurrentKey(PolicyKindTiering).av()
	for k, v := range vk {
		if k != attrPK && k != attrSK {
			cur[k] = v
		}
	}
	curPut := &types.Put{TableName: aws.String(t.Name), Item: cur}
	if expected <= DefaultPolicyVersion {
		curPut.ConditionExpression = aws.String("attribute_not_exists(PK) OR version = :v")
	} else {
		curPut.ConditionExpression = aws.String("version = :v")
	}
	curPut.ExpressionAttributeValues = map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.Itoa(expected)}}
	_, err = t.transactWrite(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(t.Name), Item: vk, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: curPut},
	})
	if err != nil {
		var tce *types.TransactionCanceledException
		if errors.As(err, &tce) {
			return 0, ErrPolicyConflict
		}
		return 0, fmt.Errorf("store policy v%d: %w", next, err)
	}
	return next, nil
}

// PolicyHistory lists the stored versions, newest first.
func (t *Table) PolicyHistory(ctx context.Context) ([]PolicyVersion, error) {
	var out []PolicyVersion
	p := dynamodb.NewQueryPaginator(t.db, &dynamodb.QueryInput{
		TableName:              aws.String(t.Name),
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :v)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: PolicyCurrentKey(PolicyKindTiering).PK},
			":v":  &types.AttributeValueMemberS{Value: versionPrefix},
		},
		ScanIndexForward:       aws.Bool(false),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("policy history: %w", err)
		}
		t.Units.addOne(false, page.ConsumedCapacity)
		for _, it := range page.Items {
			var v PolicyVersion
			if s, ok := it["doc"].(*types.AttributeValueMemberS); ok {
				pol, err := tiering.ParsePolicy([]byte(s.Value))
				if err != nil {
					return nil, fmt.Errorf("policy history: %w", err)
				}
				v.Policy, v.Version = pol, pol.Version
			}
			if s, ok := it["at"].(*types.AttributeValueMemberS); ok {
				v.At, _ = time.Parse(time.RFC3339Nano, s.Value)
			}
			if s, ok := it["by"].(*types.AttributeValueMemberS); ok {
				v.By = s.Value
			}
			out = append(out, v)
		}
	}
	return out, nil
}

func marshalPolicy(p *tiering.Policy) (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("marshal policy: %w", err)
	}
	return string(b), nil
}

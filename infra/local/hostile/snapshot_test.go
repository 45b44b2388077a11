package hostile

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// snapshot is every item of the table, keyed by "PK SK", each with a canonical rendering
// that two scans of unchanged data render byte for byte the same.
type snapshot map[string]snapItem

type snapItem struct {
	PK, SK string
	Raw    map[string]types.AttributeValue
	Canon  string
}

// scan reads the whole table with consistent reads.
func scan(t *testing.T) snapshot {
	t.Helper()
	db := st.Emulators.DynamoDBClient()
	out := snapshot{}
	var start map[string]types.AttributeValue
	for {
		page, err := db.Scan(context.Background(), &dynamodb.ScanInput{
			TableName: aws.String(st.Template.Table.Name), ConsistentRead: aws.Bool(true), ExclusiveStartKey: start,
		})
		if err != nil {
			t.Fatalf("scan the table: %v", err)
		}
		for _, it := range page.Items {
			pk, sk := str(it["PK"]), str(it["SK"])
			out[pk+" "+sk] = snapItem{PK: pk, SK: sk, Raw: it, Canon: canon(&types.AttributeValueMemberM{Value: it})}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out
		}
		start = page.LastEvaluatedKey
	}
}

func str(av types.AttributeValue) string {
	if s, ok := av.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// canon renders an attribute value deterministically: map keys and set members sorted.
func canon(av types.AttributeValue) string {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return "S" + strconv.Quote(v.Value)
	case *types.AttributeValueMemberN:
		return "N" + v.Value
	case *types.AttributeValueMemberB:
		return "B" + base64.StdEncoding.EncodeToString(v.Value)
	case *types.AttributeValueMemberBOOL:
		return "BOOL" + strconv.FormatBool(v.Value)
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberSS:
		s := slices.Clone(v.Value)
		sort.Strings(s)
		return "SS" + strconv.Quote(strings.Join(s, "\x00"))
	case *types.AttributeValueMemberNS:
		s := slices.Clone(v.Value)
		sort.Strings(s)
		return "NS" + strings.Join(s, ",")
	case *types.AttributeValueMemberBS:
		s := make([]string, len(v.Value))
		for i, b := range v.Value {
			s[i] = base64.StdEncoding.EncodeToString(b)
		}
		sort.Strings(s)
		return "BS" + strings.Join(s, ",")
	case *types.AttributeValueMemberL:
		parts := make([]string, len(v.Value))
		for i, e := range v.Value {
			parts[i] = canon(e)
		}
		return "L[" + strings.Join(parts, ",") + "]"
	case *types.AttributeValueMemberM:
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = strconv.Quote(k) + ":" + canon(v.Value[k])
		}
		return "M{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprintf("?%T", av)
}

// change is one item that differs between two snapshots.
type change struct {
	Key           string
	PK, SK        string
	Before, After *snapItem // nil when added / removed
	Attrs         []string  // attributes that differ (modified items)
}

func (c change) kind() string {
	switch {
	case c.Before == nil:
		return "added"
	case c.After == nil:
		return "removed"
	}
	return "modified"
}

func (c change) String() string {
	s := c.kind() + " " + c.Key
	if len(c.Attrs) > 0 {
		s += " (" + strings.Join(c.Attrs, ", ") + ")"
	}
	return s
}

// diff lists what differs from a to b, by key.
func diff(a, b snapshot) []change {
	var out []change
	for k, x := range a {
		x := x
		y, ok := b[k]
		switch {
		case !ok:
			out = append(out, change{Key: k, PK: x.PK, SK: x.SK, Before: &x})
		case x.Canon != y.Canon:
			y := y
			out = append(out, change{Key: k, PK: x.PK, SK: x.SK, Before: &x, After: &y, Attrs: changedAttrs(x.Raw, y.Raw)})
		}
	}
	for k, y := range b {
		if _, ok := a[k]; !ok {
			y := y
			out = append(out, change{Key: k, PK: y.PK, SK: y.SK, After: &y})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func changedAttrs(a, b map[string]types.AttributeValue) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || canon(v) != canon(w) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// exclusion says why a change is not a change of stored data, or "" when it is one. These
// are the only items a refused request may legitimately write:
func exclusion(c change) string {
	switch {
	case strings.HasPrefix(c.PK, "AUDIT#"):
		// Every read and every attempt is logged by design (append-only). The entries a
		// row adds are checked on their own (auditCheck): right customer, right actor, no
		// entry for a read or change that was refused.
		return "audit entry"
	case strings.HasPrefix(c.PK, "RATE#"):
		// Lead rate-limit windows count every post, refused or not: that is their job.
		return "rate-limit window"
	case c.PK == "APIKEYS" && c.kind() == "modified" && slices.Equal(c.Attrs, []string{"lastUsedAt"}):
		// The key authorizer records when a key was used (at most once a minute), for
		// refused requests too: the key was presented and was valid.
		return "an API key's last-used time"
	case strings.HasPrefix(c.PK, "IDEM#"):
		// An Idempotency-Key is claimed before the request is handled and released when it
		// fails; the claim is bookkeeping of the key, not data.
		return "idempotency claim"
	case strings.HasPrefix(c.PK, "STAFF#") && c.kind() != "removed":
		// Staff who call the task routes are enrolled in the directory of the stores their
		// token names (the round-robin of new tasks). Only those: an entry in a store the
		// member does not cover would hand them that store's tasks.
		_, sub, _ := strings.Cut(c.SK, "#")
		for actor := range staff {
			if subOf(actor) == sub && slices.Contains(storesOf(actor), strings.TrimPrefix(c.PK, "STAFF#")) {
				return "staff member enrolled in their own store's directory"
			}
		}
	}
	return ""
}

// restore writes a's version of every changed item back: added items are deleted,
// removed and modified ones put back exactly as they were.
func restore(t *testing.T, changes []change) {
	t.Helper()
	db := st.Emulators.DynamoDBClient()
	for _, c := range changes {
		var err error
		if c.Before == nil {
			_, err = db.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(st.Template.Table.Name),
				Key: map[string]types.AttributeValue{"PK": c.After.Raw["PK"], "SK": c.After.Raw["SK"]}})
		} else {
			_, err = db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(st.Template.Table.Name), Item: c.Before.Raw})
		}
		if err != nil {
			t.Fatalf("restore %s: %v", c.Key, err)
		}
	}
}

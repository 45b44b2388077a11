package ddbguard_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/tierflow/tierflow/infra/local/ddbguard"
	"github.com/tierflow/tierflow/infra/local/samtemplate"
)

type resolver struct{}

func (resolver) Ref(id string) (string, bool) { return id, true }
func (resolver) GetAtt(id, attr string) (string, bool) {
	if id == "TierflowTable" && attr == "Arn" {
		return "arn:aws:dynamodb:us-east-1:000000000000:table/tierflow-dev", true
	}
	return id + "." + attr, true
}

// guardedClient is a DynamoDB client whose requests pass the public function's guard,
// compiled from the project's template.yaml, to a backend that answers {} and counts.
func guardedClient(t *testing.T, function string) (*dynamodb.Client, *atomic.Int64) {
	t.Helper()
	tp, err := samtemplate.Load("../../../template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := tp.Function(function)
	p, guarded, err := ddbguard.Compile(tp, f, resolver{})
	if err != nil {
		t.Fatal(err)
	}
	if !guarded {
		t.Fatalf("%s is not guarded: its policies must limit it by dynamodb:LeadingKeys", function)
	}
	var reached atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if _, err := w.Write([]byte(`{}`)); err != nil {
			t.Errorf("backend answer: %v", err)
		}
	}))
	t.Cleanup(backend.Close)
	target, err := url.Parse(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	guard := httptest.NewServer(p.Handler(target, nil))
	t.Cleanup(guard.Close)
	c := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(guard.URL),
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""), RetryMaxAttempts: 1})
	return c, &reached
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}
}

func TestPublicFunctionReachesOnlyItsPrefixes(t *testing.T) {
	c, reached := guardedClient(t, "PublicApiFunction")
	table := aws.String("tierflow-dev")
	ctx := context.Background()
	query := func(pk string, index string) error {
		in := &dynamodb.QueryInput{TableName: table, KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :p)"),
			ExpressionAttributeNames:  map[string]string{"#pk": "PK", "#sk": "SK"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}, ":p": &types.AttributeValueMemberS{Value: "REM#"}}}
		if index != "" {
			in.IndexName = aws.String(index)
			in.ExpressionAttributeNames["#pk"] = "GSI2PK"
			in.ExpressionAttributeNames["#sk"] = "GSI2SK"
		}
		_, err := c.Query(ctx, in)
		return err
	}
	cases := []struct {
		name    string
		call    func() error
		allowed bool
	}{
		{"a profile is read", func() error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key("CUST#c1", "PROFILE")})
			return err
		}, true},
		{"a rate-limit window is counted", func() error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: key("RATE#lead-ip#1.2.3.4", "2026"), UpdateExpression: aws.String("ADD n :one"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}})
			return err
		}, true},
		{"a consent token is written", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: key("CONSENT#tok", "CONSENT")})
			return err
		}, true},
		{"phone and e-mail owners are read in one batch", func() error {
			_, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				"tierflow-dev": {Keys: []map[string]types.AttributeValue{key("PHONE#+8613800138000", "UNIQUE"), key("EMAIL#a@example.com", "UNIQUE")}}}})
			return err
		}, true},
		{"a new customer is created with its unique markers", func() error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: table, Item: key("CUST#c2", "PROFILE")}},
				{Put: &types.Put{TableName: table, Item: key("PHONE#+8613800138001", "UNIQUE")}},
				{ConditionCheck: &types.ConditionCheck{TableName: table, Key: key("REF#ABC", "UNIQUE"), ConditionExpression: aws.String("attribute_exists(PK)")}},
			}})
			return err
		}, true},
		{"a customer's reminders are listed", func() error { return query("CUST#c1", "") }, true},
		{"the health check describes the table", func() error {
			_, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: table})
			return err
		}, true},

		{"an audit entry is written", func() error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: key("AUDIT#c1", "2026#r")})
			return err
		}, false},
		{"the business-wide policy is read", func() error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key("POLICY#tiering", "CURRENT")})
			return err
		}, false},
		{"a transaction once-marker rides along a permitted write", func() error {
			_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: table, Item: key("CUST#c2", "PROFILE")}},
				{Put: &types.Put{TableName: table, Item: key("TXNID#s1#pos#INV-1", "ONCE")}},
			}})
			return err
		}, false},
		{"one forbidden key in a batch", func() error {
			_, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				"tierflow-dev": {Keys: []map[string]types.AttributeValue{key("PHONE#+8613800138000", "UNIQUE"), key("RUN#latest", "LATEST")}}}})
			return err
		}, false},
		{"a store's customers through an index", func() error { return query("STORE#sh-01", "GSI2") }, false},
		{"the whole table is scanned", func() error { _, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: table}); return err }, false},
		{"another table", func() error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("other"), Key: key("CUST#c1", "PROFILE")})
			return err
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := reached.Load()
			err := tc.call()
			if tc.allowed {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if reached.Load() != before+1 {
					t.Fatal("an allowed request did not reach DynamoDB")
				}
				return
			}
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" || !strings.Contains(api.ErrorMessage(), "not authorized") {
				t.Fatalf("err = %v, want AccessDeniedException", err)
			}
			if reached.Load() != before {
				t.Fatal("a refused request reached DynamoDB")
			}
		})
	}
}

func TestFunctionsWithTableWidePoliciesAreNotGuarded(t *testing.T) {
	tp, err := samtemplate.Load("../../../template.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := tp.Function("ApiFunction")
	if _, guarded, err := ddbguard.Compile(tp, f, resolver{}); err != nil || guarded {
		t.Fatalf("ApiFunction guarded=%v err=%v: its DynamoDBCrudPolicy grants the table", guarded, err)
	}
}

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/store"
)

// TestThePublicDoorStaysWithinItsKeyPrefixes drives every unauthenticated route through
// the paths that touch the table — new lead, merged lead, referral, Idempotency-Key
// replay, unsubscribe, survey answer, a task assigned round-robin — while the local runtime holds the public function
// to the dynamodb:LeadingKeys prefixes of its template policy (infra/local/ddbguard). A
// code path that needs a partition the policy does not list is refused as AWS would
// refuse it (AccessDeniedException), and the route answers 5xx here before it does in
// production. The statuses themselves are the public door's business; this test only
// requires that none is a server error.
func TestThePublicDoorStaysWithinItsKeyPrefixes(t *testing.T) {
	ctx := context.Background()
	national, e164 := uniqueMobile()
	email := fmt.Sprintf("iam-%d@example.com", rand.IntN(1e9))
	noServerError := func(what string, r response) {
		t.Helper()
		if r.Status >= 500 {
			t.Fatalf("%s: %d %s (a 5xx here is often the local IAM guard refusing a key prefix; see the function's log)", what, r.Status, r.Body)
		}
	}
	// Staff of the store have called the API, so the lead's task is assigned round-robin.
	for _, role := range []string{"agent", "clinician", "admin"} {
		noServerError("staff register by calling", call(t, "GET", "/v1/tasks", token(t, role, "sh-01"), nil))
	}
	lead := map[string]any{"name": "IAM Probe", "phone": e164, "email": email, "store": "sh-01",
		"consent_service": true, "consent_marketing_email": true, "consent_text_version": "v1", "referral_code": "NOSUCHCODE"}
	noServerError("new lead", call(t, "POST", "/v1/leads", "", lead))
	noServerError("known person by form", call(t, "POST", "/v1/leads", "", url.Values{"name": {"IAM Probe"}, "phone": {national}, "store": {"sh-01"}}))

	replay := func() response {
		req, err := http.NewRequest("POST", st.URL+"/v1/leads", strings.NewReader(`{"name":"IAM Replay","email":"replay-`+email+`","store":"sh-01"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "iam-"+e164)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return response{Status: resp.StatusCode}
	}
	noServerError("lead with Idempotency-Key", replay())
	noServerError("the same Idempotency-Key again", replay())

	// The lead's first-contact task was planned: the function logs and swallows a planning
	// error, so a refused write would otherwise pass unseen.
	id := customerIDByPhone(t, ctx, e164)
	rems, err := st.Emulators.DynamoDBClient().Query(ctx, &dynamodb.QueryInput{TableName: aws.String(st.Template.Table.Name),
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :rem)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: store.CustomerPK(id)},
			":rem": &types.AttributeValueMemberS{Value: "REM#"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rems.Items) == 0 {
		t.Fatal("the new lead has no first-contact task: was a write refused? see PublicApiFunction's log")
	}

	// A link token as the dispatcher would mint it for a message to this customer.
	table := store.New(st.Emulators.DynamoDBClient(), st.Template.Table.Name)
	tok, err := store.NewContacts(table).UnsubscribeToken(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	q := "?t=" + url.QueryEscape(tok)
	noServerError("unsubscribe page", call(t, "GET", "/v1/unsubscribe"+q, "", nil))
	noServerError("unsubscribe", call(t, "POST", "/v1/unsubscribe"+q, "", url.Values{"List-Unsubscribe": {"One-Click"}}))
	noServerError("survey page", call(t, "GET", "/v1/feedback"+q+"&r=rem-iam", "", nil))
	noServerError("a dissatisfied survey answer", call(t, "POST", "/v1/feedback"+q+"&r=rem-iam", "", url.Values{"csat": {"1"}, "nps": {"2"}}))
	noServerError("an unknown link token", call(t, "POST", "/v1/unsubscribe?t=nosuchtoken", "", url.Values{}))
	noServerError("health", call(t, "GET", "/v1/health", "", nil))
}

// customerIDByPhone reads the phone marker the lead wrote (test set-up, not a door).
func customerIDByPhone(t *testing.T, ctx context.Context, e164 string) string {
	t.Helper()
	k := store.PhoneKey(e164)
	out, err := st.Emulators.DynamoDBClient().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.Template.Table.Name),
		Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: k.PK}, "SK": &types.AttributeValueMemberS{Value: k.SK}}})
	if err != nil {
		t.Fatal(err)
	}
	v, ok := out.Item["customerId"].(*types.AttributeValueMemberS)
	if !ok {
		t.Fatalf("no customer for the lead's phone: %v", out.Item)
	}
	return v.Value
}

package store

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestCursorRoundTrip(t *testing.T) {
	lek := map[string]types.AttributeValue{
		"PK":     &types.AttributeValueMemberS{Value: "CUST#1"},
		"GSI2PK": &types.AttributeValueMemberS{Value: "STORE#sh-01"},
	}
	c, err := encodeCursor(lek)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeCursor(c, "GSI2PK", "STORE#sh-01")
	if err != nil {
		t.Fatal(err)
	}
	if got["GSI2PK"].(*types.AttributeValueMemberS).Value != "STORE#sh-01" || len(got) != 2 {
		t.Fatalf("round trip lost data: %v", got)
	}
}

func TestDecodeCursorRejectsForgery(t *testing.T) {
	for name, c := range map[string]string{
		"not base64":                  "%%%",
		"not json":                    "bm90IGpzb24",
		"an attribute that is no key": mustCursor(t, `{"role":"admin"}`),
		"another store's list":        mustCursor(t, `{"GSI2PK":"STORE#bj-01","GSI2SK":"TIER#A#active#c1","PK":"CUST#c1","SK":"PROFILE"}`),
		"a list with no partition":    mustCursor(t, `{"PK":"CUST#c1","SK":"PROFILE"}`),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeCursor(c, "GSI2PK", "STORE#sh-01"); !errors.Is(err, ErrBadCursor) {
				t.Fatalf("got %v, want ErrBadCursor", err)
			}
		})
	}
}

func mustCursor(t *testing.T, js string) string {
	t.Helper()
	return base64.RawURLEncoding.EncodeToString([]byte(js))
}

func TestMeterSplitsReadsAndWrites(t *testing.T) {
	var m Meter
	m.addOne(false, &types.ConsumedCapacity{CapacityUnits: aws.Float64(0.5)})
	m.addOne(true, &types.ConsumedCapacity{CapacityUnits: aws.Float64(2)})
	m.add(true, types.ConsumedCapacity{ReadCapacityUnits: aws.Float64(1), WriteCapacityUnits: aws.Float64(3)})
	u := m.Snapshot()
	if u.Read != 1.5 || u.Write != 5 || u.Calls != 3 {
		t.Fatalf("got %+v", u)
	}
}

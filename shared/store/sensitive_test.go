package store_test

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/seal"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

func TestErasureLeavesNoPersonalDataInThePartitionOrTheKeys(t *testing.T) {
	tbl := storetest.Table(t)
	ctx := context.Background()
	nat, e164 := randomMobile()
	email := "erase-" + storetest.Suffix() + "@example.com"
	name, note := "Planted Name "+storetest.Suffix(), "planted message "+storetest.Suffix()
	l, g := lead(t, customer.LeadForm{Name: name, Phone: nat, Email: email, Message: note, UTMSource: "baidu",
		UTMTerm: "planted term", ConsentService: customer.Checkbox{Set: true, Value: true}, ConsentTextVersion: "v1"}, t0)
	p, _, err := tbl.ResolveOrCreate(ctx, l, g, t0)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key) // documented never to fail (Go 1.24+)
	local, err := seal.NewLocal(key)
	if err != nil {
		t.Fatal(err)
	}
	// A clinician's edit writes the sealed section, as the staff API does.
	desk := store.NewStaff(tbl, store.StaffDeps{Sealer: &seal.Sealer{Wrapper: local}})
	clinician := auth.Principal{Sub: "clinician-1", Role: model.RoleClinician, Stores: []string{"sh-01"}}
	c, err := access.New(access.Ports{Customers: tbl, Audit: tbl}, nil).Customer(ctx, clinician, p.ID, access.EditCustomer)
	if err != nil {
		t.Fatal(err)
	}
	if err := desk.SaveProfile(ctx, c, c.View().Profile, &customer.Sensitive{Allergies: "planted allergy"}, t0); err != nil {
		t.Fatal(err)
	}
	if _, found, err := tbl.GetSensitive(ctx, p.ID); err != nil || !found {
		t.Fatalf("the sealed section was not written: found=%v err=%v", found, err)
	}

	erased, err := tbl.EraseCustomer(ctx, p.ID, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !erased.Erased() || erased.Store != "sh-01" || len(erased.Touches) != 1 || erased.Touches[0].UTM.Source != "baidu" {
		t.Fatalf("erasure must keep the anonymous part: %+v", erased)
	}
	part, err := storetest.Emulators(t).DynamoDBClient().Query(ctx, &dynamodb.QueryInput{TableName: aws.String(tbl.Name), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: store.CustomerPK(p.ID)}}})
	if err != nil {
		t.Fatal(err)
	}
	items := part.Items
	planted := []string{name, e164, email, note, "planted term", "203.0.113.9", p.ReferralCode}
	for _, it := range items {
		dump := dumpItem(it)
		for _, v := range planted {
			if strings.Contains(dump, v) {
				t.Errorf("item %s still holds %q", dump[:min(len(dump), 60)], v)
			}
		}
		if strings.Contains(dump, "SENSITIVE") {
			t.Error("the sealed section survived erasure")
		}
	}
	if _, found, err := tbl.CustomerByContact(ctx, e164, email); err != nil || found {
		t.Errorf("a phone or e-mail key still names the erased customer (err %v)", err)
	}
	// The same person may come back: they are a new customer.
	again, created, err := tbl.ResolveOrCreate(ctx, l, g, t0.Add(2*time.Hour))
	if err != nil || !created || again.ID == p.ID {
		t.Fatalf("a returning person after erasure: id=%s created=%v err=%v", again.ID, created, err)
	}
	if _, err := tbl.EraseCustomer(ctx, p.ID, t0.Add(3*time.Hour)); err != nil {
		t.Fatalf("erasing twice: %v", err)
	}
}

// dumpItem renders every string and number in an item, however nested.
func dumpItem(item map[string]types.AttributeValue) string {
	var b strings.Builder
	var walk func(types.AttributeValue)
	walk = func(av types.AttributeValue) {
		switch v := av.(type) {
		case *types.AttributeValueMemberS:
			b.WriteString(v.Value + "|")
		case *types.AttributeValueMemberN:
			b.WriteString(v.Value + "|")
		case *types.AttributeValueMemberB:
			b.Write(v.Value)
		case *types.AttributeValueMemberL:
			for _, x := range v.Value {
				walk(x)
			}
		case *types.AttributeValueMemberM:
			for _, x := range v.Value {
				walk(x)
			}
		case *types.AttributeValueMemberSS:
			b.WriteString(strings.Join(v.Value, "|"))
		}
	}
	keys := make([]string, 0, len(item))
	for k := range item {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		walk(item[k])
	}
	return b.String()
}

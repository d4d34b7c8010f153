//go:build integration

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
)

// crmRecords are what the CRM writes after the stack started, without a
// subject key: ada in two other forms of her address, look-alikes of her,
// and a record whose address is none.
var crmRecords = []struct {
	purpose, id, email string
	ada                bool
}{
	{"marketing", "crm-upper", "ADA@EXAMPLE.COM", true},
	{"customer_care", "crm-spaced", " Ada@Example.com ", true},
	{"marketing", "crm-nada", "nada@example.com", false},
	{"marketing", "crm-co", "ada@example.co", false},
	{"marketing", "crm-tagged", "ada+news@example.com", false},
	{"customer_care", "crm-broken", "ada at example dot com", false},
}

// TestCRMWritesAreKeyed: records the CRM writes in any form of ada's
// address are keyed from the tables' streams; her access report holds them,
// her erasure deletes them and its certificate counts them; look-alikes are
// never found and never touched; a record without an address is recorded
// for the DPO.
func TestCRMWritesAreKeyed(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	ctx := context.Background()
	ddb := dynamodb.NewFromConfig(cfg)
	for _, r := range crmRecords {
		p, _ := stack.Registry.Lookup(r.purpose)
		item, err := attributevalue.MarshalMap(map[string]any{"contactId": r.id, p.Identifier: r.email, "note": "written by the CRM"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(p.Table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	waitKeyed(t, stack)
	_, hasher := provenanceOf(t, cfg, stack)
	for _, r := range crmRecords {
		p, _ := stack.Registry.Lookup(r.purpose)
		out, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(p.Table), Key: map[string]types.AttributeValue{"contactId": &types.AttributeValueMemberS{Value: r.id}}})
		if err != nil {
			t.Fatal(err)
		}
		key, _ := out.Item[p.SubjectKeyAttribute].(*types.AttributeValueMemberS)
		want := ""
		if n, err := dsr.NormalizeEmail(r.email); err == nil {
			want = hasher.Subject(n)
		}
		switch {
		case key == nil && want != "":
			t.Errorf("%s (%q): not keyed", r.id, r.email)
		case key != nil && key.Value != want:
			t.Errorf("%s (%q): keyed for another address", r.id, r.email)
		}
	}
	unkeyable, err := (&dynamo.Keying{Client: ddb, Table: stack.Names["KeyingTable"].Ref}).UnkeyableDigest(ctx, time.Now().UTC().Format(time.DateOnly))
	if err != nil || unkeyable["customer_care"] != 1 {
		t.Errorf("unkeyable records of today: %v %v, want customer_care: 1", unkeyable, err)
	}

	c := &client{t: t, base: stack.URL}
	access := submitVerified(t, c, outbox, map[string]any{"type": "access", "email": seed.Ada})
	rep, _ := fetchReport(t, c, access)
	found := map[string]bool{}
	for _, p := range rep.Purposes {
		if p.RecordsFound != len(p.Records) {
			t.Errorf("%s: recordsFound %d for %d records", p.Purpose, p.RecordsFound, len(p.Records))
		}
		for _, r := range p.Records {
			found[fmt.Sprint(r.Item["contactId"])] = true
		}
	}
	for _, r := range crmRecords {
		if found[r.id] != r.ada {
			t.Errorf("%s (%q) in ada's report: %v, want %v", r.id, r.email, found[r.id], r.ada)
		}
	}
	// In German, the default language of a request that names none.
	if !strings.Contains(rep.Subject.Searched, "ada@example.com") || !strings.Contains(rep.Subject.Searched, "Groß- und Kleinschreibung") {
		t.Errorf("the report says it searched %q", rep.Subject.Searched)
	}

	before := takeCensus(t, cfg, stack.Registry)
	erasure := submitVerified(t, c, outbox, map[string]any{"type": "erasure", "email": seed.Ada})
	cert, raw := fetchCertificate(t, c, erasure, 90*time.Second)
	after := takeCensus(t, cfg, stack.Registry)
	o := outcomesByPurpose(cert)
	for _, purpose := range []string{"marketing", "customer_care"} {
		if n := after[purpose][seed.Ada][0]; n != 0 {
			t.Errorf("%s: %d of ada's records left", purpose, n)
		}
		if want := before[purpose][seed.Ada][0]; o[purpose].ItemsDeleted != want || o[purpose].RecordsFound != want {
			t.Errorf("certificate %s: %+v, want %d found and deleted (her records in every form)", purpose, o[purpose], want)
		}
	}
	// Her restricted invoices hold her subject key for her address now.
	adaKey := hasher.Subject(seed.Ada)
	if fmt.Sprint(before.without(seed.Ada)) != fmt.Sprint(after.without(seed.Ada, adaKey)) {
		t.Errorf("someone else's records changed:\nbefore %v\nafter  %v", before.without(seed.Ada), after.without(seed.Ada, adaKey))
	}
	if cert.Searched != dsr.SearchedForVerified || strings.Contains(string(raw), "ada@") || strings.Contains(string(raw), "ADA@") {
		t.Errorf("certificate searched %q (it holds no address)", cert.Searched)
	}
	if s, _, b := c.do("GET", "/v1/requests/"+erasure.ID, erasure.StatusToken, nil, nil); s != http.StatusOK {
		t.Errorf("status: %d %s", s, b)
	}
}

// TestKeyingCostPerWrite counts what keying adds to the CRM's writes: one
// conditional UpdateItem for a record whose key must be written (a new
// record, an address changed), none for a write that leaves the address as
// it was; the function's own write comes back on the stream and is not
// written again.
func TestKeyingCostPerWrite(t *testing.T) {
	var counter callCounter
	cfg := awsConfig(t, counter.middleware)
	stack, _ := startStack(t, cfg, nil)
	ctx := context.Background()
	ddb := dynamodb.NewFromConfig(cfg)
	p, _ := stack.Registry.Lookup("marketing")
	waitKeyed(t, stack)
	keyingUpdates := func(step string) int {
		t.Helper()
		waitKeyed(t, stack)
		byOp, _ := counter.snapshot()
		counter.reset()
		n := byOp["KeyingFunction DynamoDB.UpdateItem"]
		t.Logf("%-48s KeyingFunction UpdateItem: %d (of them condition failed: %d)", step, n, byOp["KeyingFunction DynamoDB.UpdateItem"+conflictSuffix])
		return n
	}
	keyingUpdates("after the start")

	const n = 20
	ref := func(i int) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"contactId": &types.AttributeValueMemberS{Value: fmt.Sprintf("cost-%02d", i)}}
	}
	for i := range n { // the CRM adds records, without a key
		item, err := attributevalue.MarshalMap(map[string]any{"contactId": fmt.Sprintf("cost-%02d", i), p.Identifier: fmt.Sprintf(" Person%02d@Example.ORG", i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(p.Table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	if got := keyingUpdates(fmt.Sprintf("%d records added", n)); got != n {
		t.Errorf("%d records added: %d key writes, want one each", n, got)
	}
	for i := range n { // the CRM changes another attribute
		if _, err := ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(p.Table), Key: ref(i),
			UpdateExpression:          aws.String("SET channel = :c"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: "post"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := keyingUpdates(fmt.Sprintf("%d records changed, address kept", n)); got != 0 {
		t.Errorf("%d changes that keep the address: %d key writes, want none", n, got)
	}
	for i := range n { // the CRM changes the address
		if _, err := ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(p.Table), Key: ref(i),
			UpdateExpression:          aws.String("SET #e = :e"),
			ExpressionAttributeNames:  map[string]string{"#e": p.Identifier},
			ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberS{Value: fmt.Sprintf("moved%02d@example.org", i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := keyingUpdates(fmt.Sprintf("%d addresses changed", n)); got != n {
		t.Errorf("%d addresses changed: %d key writes, want one each", n, got)
	}
}

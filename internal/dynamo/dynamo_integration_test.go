//go:build integration

package dynamo_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
	"github.com/privacyops/dsr/internal/provision"
	"github.com/privacyops/dsr/internal/samtemplate"
	"github.com/privacyops/dsr/internal/storetest"
)

// provisioned creates the template's resources under a fresh prefix.
func provisioned(t *testing.T) (*dynamodb.Client, samtemplate.Names) {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		t.Fatal("AWS_ENDPOINT_URL is not set: the integration tests need the emulator that `make test` starts")
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	names, err := provision.Provision(ctx, cfg, tpl, provision.Options{Prefix: "ddb-" + hex.EncodeToString(b)})
	if err != nil {
		t.Fatal(err)
	}
	return dynamodb.NewFromConfig(cfg), names
}

func TestRequestsContract(t *testing.T) {
	client, names := provisioned(t)
	// moto does not serialize conditional writes to one item under parallel
	// requests (DynamoDB does): the concurrency cases run one call after
	// another there, which still checks every condition. Against an emulator
	// that serializes them (LocalStack's DynamoDB), set DSR_EMULATOR_ATOMIC=true.
	atomicWrites := os.Getenv("DSR_EMULATOR_ATOMIC") == "true"
	storetest.Run(t, func(*testing.T) storetest.Store {
		return &dynamo.Requests{Client: client, Table: names["RequestsTable"].Ref}
	}, storetest.Options{Sequential: !atomicWrites})
}

func TestSuppressionsContract(t *testing.T) {
	client, names := provisioned(t)
	storetest.RunSuppressions(t, func(*testing.T) storetest.SuppressionStore {
		return &dynamo.Suppressions{Client: client, Table: names["SuppressionTable"].Ref}
	})
}

// countingAPI counts Query calls and items read.
type countingAPI struct {
	dynamo.API
	queries, items atomic.Int64
	throttleEvery  int64 // BatchWriteItem: leave every n-th call's second half unprocessed
	batches        atomic.Int64
}

func (c *countingAPI) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := c.API.Query(ctx, in, opts...)
	if err == nil {
		c.queries.Add(1)
		c.items.Add(int64(len(out.Items)))
	}
	return out, err
}

func (c *countingAPI) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	n := c.batches.Add(1)
	if c.throttleEvery > 0 && n%c.throttleEvery == 0 {
		// Inject UnprocessedItems: write only the first half now.
		for table, reqs := range in.RequestItems {
			half := len(reqs) / 2
			if _, err := c.API.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs[:half]}}, opts...); err != nil {
				return nil, err
			}
			return &dynamodb.BatchWriteItemOutput{UnprocessedItems: map[string][]types.WriteRequest{table: reqs[half:]}}, nil
		}
	}
	return c.API.BatchWriteItem(ctx, in, opts...)
}

// TestContactsFollowEveryPage puts 260 records of one subject (and others'
// around them) into a purpose table with UnprocessedItems injected, and reads
// them back through the subject index in pages of 25: every record, once,
// nobody else's, and no Scan.
func TestContactsFollowEveryPage(t *testing.T) {
	client, names := provisioned(t)
	api := &countingAPI{API: client, throttleEvery: 3}
	ctx := context.Background()
	table := names["MarketingTable"].Ref
	var items []map[string]types.AttributeValue
	for i := range 400 {
		email := "ada@example.com"
		if i%3 == 2 {
			email = fmt.Sprintf("other%03d@example.net", i)
		}
		av, err := attributevalue.MarshalMap(map[string]any{"contactId": fmt.Sprintf("c-%04d", i), "email": email, "note": strings.Repeat("x", 50)})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, av)
	}
	if err := dynamo.BatchPut(ctx, api, table, items); err != nil {
		t.Fatal(err)
	}
	p := dsr.Purpose{Name: "marketing", Table: table, SubjectIndex: "by-subject", Identifier: "email"}
	contacts := &dynamo.Contacts{Client: api, Limit: 25}
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("paging does not end")
		}
		recs, next, err := contacts.FindPage(ctx, p, "ada@example.com", cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			id := r.Item["contactId"].(string)
			if seen[id] || r.Item["email"] != "ada@example.com" || r.Table != table {
				t.Fatalf("record %v seen twice or not ada's", r.Item)
			}
			seen[id] = true
		}
		if next == "" {
			break
		}
		if raw, _ := base64.RawURLEncoding.DecodeString(next); strings.Contains(string(raw), "ada@") {
			t.Fatalf("cursor %s carries the subject's address", raw)
		}
		cursor = next
	}
	want := 400 - 400/3
	if len(seen) != want {
		t.Errorf("read %d of ada's records, want %d", len(seen), want)
	}
	t.Logf("%d records in %d Query pages, %d items read; %d BatchWriteItem calls for %d items (every 3rd left half unprocessed)",
		len(seen), api.queries.Load(), api.items.Load(), api.batches.Load(), len(items))
}

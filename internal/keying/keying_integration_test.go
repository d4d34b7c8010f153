//go:build integration

package keying_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/devstack/provision/provisiontest"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
	"github.com/privacyops/dsr/internal/keying"
)

// countingKeys counts the subject keys written per record.
type countingKeys struct {
	dynamo.API
	mu     sync.Mutex
	writes map[string]int
	scans  int
}

func (c *countingKeys) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	out, err := c.API.UpdateItem(ctx, in, opts...)
	if err == nil {
		id := in.Key["contactId"].(*types.AttributeValueMemberS).Value
		c.mu.Lock()
		c.writes[id]++
		c.mu.Unlock()
	}
	return out, err
}

func (c *countingKeys) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	c.mu.Lock()
	c.scans++
	c.mu.Unlock()
	return c.API.Scan(ctx, in, opts...)
}

// TestBackfillOnDynamoDB keys a table the CRM filled before its stream was
// keyed (DSR_BACKFILL_ITEMS records, default 3,000), with a run stopped
// after every page it checkpoints: each run resumes where the last stopped,
// and every record is keyed exactly once. It logs the rate.
func TestBackfillOnDynamoDB(t *testing.T) {
	n := 3000
	if v := os.Getenv("DSR_BACKFILL_ITEMS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	cfg, names := provisiontest.Provisioned(t, "kb")
	client := dynamodb.NewFromConfig(cfg)
	reg, err := dsr.ParseRegistry([]byte("- {purpose: marketing, table: " + names["MarketingTable"].Ref +
		", subjectIndex: by-subject, identifier: email, subjectKeyAttribute: dsrSubjectKey, title: {de: t, en: t}, description: {de: d, en: d}, categories: {de: [c], en: [c]}, automatedDecisions: none, legalBasis: consent, retention: {de: r, en: r}, erasure: delete, objection: delete}"))
	if err != nil {
		t.Fatal(err)
	}
	p := reg[0]
	items := make([]map[string]types.AttributeValue, 0, n)
	for i := range n {
		av, err := attributevalue.MarshalMap(map[string]any{"contactId": fmt.Sprintf("c%06d", i), "email": fmt.Sprintf(" Person%06d@Example.NET ", i)})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, av)
	}
	if err := dynamo.BatchPut(ctx, client, p.Table, items); err != nil {
		t.Fatal(err)
	}
	hasher, _ := dsr.NewHasher([]byte("a test pepper of the backfill test"))
	counting := &countingKeys{API: client, writes: map[string]int{}}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	keyer := &keying.Keyer{Contacts: &dynamo.Contacts{Client: counting}, Ledger: &dynamo.Keying{Client: client, Table: names["KeyingTable"].Ref}, Hasher: hasher, Log: log}
	store := &dynamo.Keying{Client: client, Table: names["KeyingTable"].Ref}
	bf := &keying.Backfill{Keyer: keyer, Passes: &stoppingDynamo{Keying: store}, Continue: noContinue{}, Registry: reg, Log: log}
	start := time.Now()
	runs := 0
	for ; runs < 10_000; runs++ {
		sum, err := bf.Run(ctx, keying.Request{Purpose: p.Name})
		if err == nil && sum.Complete {
			break
		}
	}
	took := time.Since(start)
	if len(counting.writes) != n {
		t.Errorf("%d records keyed, want %d", len(counting.writes), n)
	}
	for id, w := range counting.writes {
		if w != 1 {
			t.Fatalf("%s keyed %d times", id, w)
		}
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(p.Table), Key: map[string]types.AttributeValue{"contactId": &types.AttributeValueMemberS{Value: "c000007"}}})
	if err != nil || out.Item["dsrSubjectKey"].(*types.AttributeValueMemberS).Value != hasher.Subject("person000007@example.net") {
		t.Errorf("c000007: %v %v", out.Item, err)
	}
	if keyed, err := store.Keyed(ctx, []string{p.Name}); err != nil || !keyed[p.Name] {
		t.Errorf("not marked keyed: %v %v", keyed, err)
	}
	t.Logf("backfill of %d records in %d runs (each stopped after its pages' checkpoints), %d Scan pages: %s, %.0f records/s",
		n, runs+1, counting.scans, took.Round(time.Millisecond), float64(n)/took.Seconds())
}

// stoppingDynamo stops a run after every segment checkpoint it saves, as a
// run stopped by its deadline or a crash right after a page.
type stoppingDynamo struct{ *dynamo.Keying }

func (s *stoppingDynamo) SaveSegment(ctx context.Context, purpose string, seg dsr.BackfillSegment) error {
	if err := s.Keying.SaveSegment(ctx, purpose, seg); err != nil {
		return err
	}
	return fmt.Errorf("stopped")
}

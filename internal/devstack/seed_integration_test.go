//go:build integration

package devstack

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/devstack/provision/provisiontest"
	"github.com/privacyops/dsr/internal/devstack/samtemplate"
	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dynamo"
)

// syncBuffer is a log sink for the stack's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestRestartBringsNothingErasedBack starts a seeded stack (with the demo
// requests), deletes what an erasure of ada deletes (her records in every
// purpose table, her provenance, her demo request), and starts the stack
// again on the same resources, as make run does on an emulator that still
// runs: nothing of hers comes back, no table changes, and the second start
// says which tables it left as they were.
func TestRestartBringsNothingErasedBack(t *testing.T) {
	cfg := provisiontest.Config(t)
	opts := Options{
		TemplatePath: "../../template.yaml", Prefix: fmt.Sprintf("reseed-%d", time.Now().UnixNano()%1e9), Addr: "127.0.0.1:0",
		OutboxDir: t.TempDir(), Seed: true, SeedRequests: true, AWS: cfg, Log: slog.New(slog.DiscardHandler),
	}
	first := startAndClose(t, opts)
	if len(first.SeedSkipped) != 0 || len(first.Seeded) != len(first.Registry) || len(first.SeededProvenance) == 0 || len(first.SeededRequests) != 2 {
		t.Fatalf("first start: seeded %v, provenance %v, requests %v, skipped %v; want everything seeded", first.Seeded,
			first.SeededProvenance, first.SeededRequests, first.SeedSkipped)
	}
	ddb := dynamodb.NewFromConfig(cfg)
	adaKey, requests := eraseAda(t, first, ddb)
	before := tableCounts(t, ddb, first)

	logs := &syncBuffer{}
	opts.Log = slog.New(slog.NewJSONHandler(logs, nil))
	second := startAndClose(t, opts)

	t.Run("nothing erased comes back", func(t *testing.T) {
		for _, p := range second.Registry {
			if n := len(seed.Of(scanAll(t, ddb, p.Table), p, seed.Ada)); n != 0 {
				t.Errorf("%s: %d records of ada again", p.Name, n)
			}
		}
		if n := countPartition(t, ddb, provenanceTable(second), "subjectKey", adaKey); n != 0 {
			t.Errorf("provenance: %d entries of ada again", n)
		}
		if n := countPartition(t, ddb, requests, "id", first.SeededRequests[0]); n != 0 {
			t.Errorf("ada's demo request %s is back", first.SeededRequests[0])
		}
		if after := tableCounts(t, ddb, second); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("items per table after the second start %v, before it %v", after, before)
		}
	})
	t.Run("the second start reports the skip", func(t *testing.T) { checkSkipReported(t, second, logs.String()) })
}

// checkSkipReported checks that s, started on tables that all hold items,
// seeded nothing and named every table it left as it was, in SeedSkipped
// and in its log.
func checkSkipReported(t *testing.T, s *Stack, log string) {
	t.Helper()
	env := s.environment(mustFunction(t, s, "IntakeFunction"))
	var want []string
	for _, p := range s.Registry {
		want = append(want, p.Table)
	}
	want = append(want, provenanceTable(s), env["REQUESTS_TABLE"], env["AUDIT_TABLE"])
	if !slices.Equal(s.SeedSkipped, want) {
		t.Errorf("SeedSkipped %v, want %v", s.SeedSkipped, want)
	}
	if len(s.Seeded) != 0 || len(s.SeededProvenance) != 0 || len(s.SeededRequests) != 0 {
		t.Errorf("second start seeded %v, provenance %v, requests %v; want nothing", s.Seeded, s.SeededProvenance, s.SeededRequests)
	}
	var skips []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "left as they are") {
			skips = append(skips, line)
		}
	}
	for _, table := range want {
		if !strings.Contains(strings.Join(skips, "\n"), `"`+table+`"`) {
			t.Errorf("the log does not name %s as left as it is; its skips:\n%s", table, strings.Join(skips, "\n"))
		}
	}
}

// startAndClose starts a stack with o and closes it: the seed is done when
// Start returns.
func startAndClose(t *testing.T, o Options) *Stack {
	t.Helper()
	s, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return s
}

// eraseAda deletes ada's records from every purpose table, her provenance
// and her demo request, and returns her subject key and the requests table.
func eraseAda(t *testing.T, s *Stack, ddb *dynamodb.Client) (string, string) {
	t.Helper()
	ctx := context.Background()
	hasher, err := s.hasher(ctx, "ProvenanceFunction")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := seed.KeyAttributes(ctx, ddb, s.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Registry {
		for _, it := range seed.Of(scanAll(t, ddb, p.Table), p, seed.Ada) {
			key := map[string]types.AttributeValue{keys[p.Name]: &types.AttributeValueMemberS{Value: it[keys[p.Name]].(string)}}
			if _, err := ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &p.Table, Key: key}); err != nil {
				t.Fatal(err)
			}
		}
		store := &dynamo.Provenance{Client: ddb, Table: provenanceTable(s)}
		if _, err := store.DeleteSubject(ctx, hasher.Subject(seed.Ada), p.Name); err != nil {
			t.Fatal(err)
		}
	}
	requests := s.environment(mustFunction(t, s, "IntakeFunction"))["REQUESTS_TABLE"]
	key := map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: s.SeededRequests[0]}}
	if _, err := ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &requests, Key: key}); err != nil {
		t.Fatal(err)
	}
	if n := countPartition(t, ddb, provenanceTable(s), "subjectKey", hasher.Subject(seed.Ada)); n != 0 {
		t.Fatalf("ada still has %d provenance entries", n)
	}
	return hasher.Subject(seed.Ada), requests
}

func mustFunction(t *testing.T, s *Stack, logicalID string) samtemplate.Function {
	t.Helper()
	fn, ok := s.function(logicalID)
	if !ok {
		t.Fatalf("no function %s", logicalID)
	}
	return fn
}

func provenanceTable(s *Stack) string {
	fn, _ := s.function("ProvenanceFunction")
	return s.environment(fn)["PROVENANCE_TABLE"]
}

// tableCounts counts the items of every table the seed writes.
func tableCounts(t *testing.T, ddb *dynamodb.Client, s *Stack) map[string]int {
	t.Helper()
	env := s.environment(mustFunction(t, s, "IntakeFunction"))
	tables := []string{provenanceTable(s), env["REQUESTS_TABLE"], env["AUDIT_TABLE"]}
	for _, p := range s.Registry {
		tables = append(tables, p.Table)
	}
	counts := map[string]int{}
	for _, table := range tables {
		counts[table] = len(scanAll(t, ddb, table))
	}
	return counts
}

// scanAll reads every item of table.
func scanAll(t *testing.T, ddb *dynamodb.Client, table string) []seed.Item {
	t.Helper()
	var items []seed.Item
	p := dynamodb.NewScanPaginator(ddb, &dynamodb.ScanInput{TableName: &table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var page []seed.Item
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &page); err != nil {
			t.Fatal(err)
		}
		items = append(items, page...)
	}
	return items
}

// countPartition counts the items of table whose partition key attr is v.
func countPartition(t *testing.T, ddb *dynamodb.Client, table, attr, v string) int {
	t.Helper()
	out, err := ddb.Query(context.Background(), &dynamodb.QueryInput{
		TableName: &table, KeyConditionExpression: aws.String("#k = :v"), Select: types.SelectCount, ConsistentRead: aws.Bool(true),
		ExpressionAttributeNames:  map[string]string{"#k": attr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: v}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return int(out.Count)
}

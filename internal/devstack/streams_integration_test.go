//go:build integration

package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/privacyops/dsr/internal/devstack/provision/provisiontest"
	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// scriptedHandler records every delivery and fails as fail says.
type scriptedHandler struct {
	mu         sync.Mutex
	deliveries [][]string // the ids of each batch's records
	fail       func(ids []string, seqs []string, delivery int) (events.DynamoDBEventResponse, error)
}

func (h *scriptedHandler) Handle(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ids, seqs []string
	for _, r := range ev.Records {
		ids, seqs = append(ids, r.Change.Keys["id"].String()), append(seqs, r.Change.SequenceNumber)
	}
	h.deliveries = append(h.deliveries, ids)
	return h.fail(ids, seqs, len(h.deliveries))
}

func (h *scriptedHandler) delivered() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.deliveries)
}

// streamFixture is a table with a stream, 10 records r00…r09 written to it,
// an on-failure queue, and a poller of the stream with batches of 4 and 2
// retries.
type streamFixture struct {
	poller *streamPoller
	queue  string
	sqs    *sqs.Client
}

func newStreamFixture(t *testing.T, h streamHandler) *streamFixture {
	t.Helper()
	cfg := provisiontest.Config(t)
	ctx := context.Background()
	ddb, q := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	name := fmt.Sprintf("streams-%d", time.Now().UnixNano())
	out, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: &name, BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		StreamSpecification:  &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeNewImage},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &name}) })
	qout, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &name})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		item := map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: fmt.Sprintf("r%02d", i)}}
		if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: &name, Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	return &streamFixture{
		poller: &streamPoller{
			client: dynamodbstreams.NewFromConfig(cfg), sqs: q, streamARN: aws.ToString(out.TableDescription.LatestStreamArn),
			onFailure: aws.ToString(qout.QueueUrl), region: cfg.Region, handler: h, log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
			fn: samtemplate.Function{LogicalID: "KeyingFunction", Timeout: 10 * time.Second},
			ev: samtemplate.Event{StartingPosition: "TRIM_HORIZON", BatchSize: 4, MaximumRetryAttempts: 2, ReportBatchItemFailures: true},
		},
		queue: aws.ToString(qout.QueueUrl), sqs: q,
	}
}

// read runs the poller until the stream is read to its end, bounded.
func (f *streamFixture) read(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	shards, err := f.poller.shards(ctx)
	if err != nil || len(shards) != 1 {
		t.Fatalf("shards %v %v, want one", shards, err)
	}
	since := time.Now().UnixNano()
	idle := new(atomic.Int64)
	done := make(chan struct{})
	go func() { defer close(done); f.poller.run(ctx, aws.ToString(shards[0].ShardId), idle) }()
	for idle.Load() <= since && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if idle.Load() <= since {
		t.Fatal("the stream was not read to its end within 30 s")
	}
}

func ids(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("r%02d", i))
	}
	return out
}

// The local event source mapping reads a stream as Lambda does: batches in
// order; a reported failure is retried from the record with the lowest
// sequence number the function names (one that names no record retries the
// whole batch); after MaximumRetryAttempts the rest of the batch goes to the
// on-failure queue, in Lambda's message, and reading goes on after it.
func TestStreamPollerAsLambda(t *testing.T) {
	t.Run("a failure is retried from the lowest record named", func(t *testing.T) {
		h := &scriptedHandler{fail: func(ids, seqs []string, n int) (events.DynamoDBEventResponse, error) {
			if n == 1 { // r03 and r02 fail: retried from r02
				return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: seqs[3]}, {ItemIdentifier: seqs[2]}}}, nil
			}
			return events.DynamoDBEventResponse{}, nil
		}}
		f := newStreamFixture(t, h)
		f.read(t)
		want := [][]string{ids(0, 4), ids(2, 6), ids(6, 10)}
		if got := h.delivered(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("deliveries %v, want %v", got, want)
		}
	})
	t.Run("a failure naming no record retries the whole batch", func(t *testing.T) {
		h := &scriptedHandler{fail: func(ids, seqs []string, n int) (events.DynamoDBEventResponse, error) {
			if n == 1 {
				return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: seqs[2]}, {ItemIdentifier: ""}}}, nil
			}
			return events.DynamoDBEventResponse{}, nil
		}}
		f := newStreamFixture(t, h)
		f.read(t)
		want := [][]string{ids(0, 4), ids(0, 4), ids(4, 8), ids(8, 10)}
		if got := h.delivered(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("deliveries %v, want %v", got, want)
		}
	})
	t.Run("a record that always fails is discarded with the rest of its batch", func(t *testing.T) {
		h := &scriptedHandler{fail: func(ids, seqs []string, n int) (events.DynamoDBEventResponse, error) {
			if i := slices.Index(ids, "r05"); i >= 0 {
				return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: seqs[i]}}}, nil
			}
			return events.DynamoDBEventResponse{}, nil
		}}
		f := newStreamFixture(t, h)
		f.read(t)
		// r04–r07, then from r05 twice more (2 retries); r08–r09 after it.
		want := [][]string{ids(0, 4), ids(4, 8), ids(5, 9), ids(5, 9), ids(9, 10)}
		if got := h.delivered(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("deliveries %v, want %v", got, want)
		}
		out, err := f.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &f.queue, MaxNumberOfMessages: 10})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("on-failure queue: %v %v, want one message", out, err)
		}
		var msg struct {
			RequestContext struct{ Condition string } `json:"requestContext"`
			Timestamp      time.Time                  `json:"timestamp"`
			Info           struct {
				BatchSize   int       `json:"batchSize"`
				StreamArn   string    `json:"streamArn"`
				LastArrival time.Time `json:"approximateArrivalOfLastRecord"`
			} `json:"DDBStreamBatchInfo"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &msg); err != nil {
			t.Fatal(err)
		}
		if msg.RequestContext.Condition != "RetryAttemptsExhausted" || msg.Timestamp.IsZero() || msg.Info.BatchSize != 4 ||
			msg.Info.StreamArn != f.poller.streamARN || msg.Info.LastArrival.IsZero() {
			t.Errorf("on-failure message %s", aws.ToString(out.Messages[0].Body))
		}
	})
}

// A reader started again (StartConsumers after StopConsumers) goes on after
// the last record its predecessor did, as Lambda's event source mapping
// does when the function's instances die: r00…r09 are delivered once.
func TestStreamReaderResumesAfterItsCheckpoint(t *testing.T) {
	h := &scriptedHandler{fail: func([]string, []string, int) (events.DynamoDBEventResponse, error) {
		return events.DynamoDBEventResponse{}, nil
	}}
	f := newStreamFixture(t, h)
	f.poller.checkpoints = &shardCheckpoints{}
	f.read(t)
	f.read(t)
	want := [][]string{ids(0, 4), ids(4, 8), ids(8, 10)}
	if got := h.delivered(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("deliveries %v, want %v: read again from the start", got, want)
	}
}

package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

type streamHandler interface {
	Handle(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)
}

// streamPoller is the local event source mapping of one DynamoDB stream
// event, as Lambda runs it for each shard: batches of BatchSize records in
// order; a batch that fails (the function's error, or the first record it
// reports with ReportBatchItemFailures) is retried from the failed record,
// MaximumRetryAttempts times at most, after which its records are
// described to the OnFailure queue and skipped. Unlike an SQS event's
// pollers, each shard has one reader, which hands the function one batch at
// a time: a failing batch holds up its shard until it succeeds or is
// discarded, as in Lambda, which keeps a shard's records in order (the
// template sets no ParallelizationFactor).
type streamPoller struct {
	client    *dynamodbstreams.Client
	sqs       *sqs.Client
	streamARN string
	onFailure string // the OnFailure queue's URL, or ""
	region    string
	fn        samtemplate.Function
	ev        samtemplate.Event
	handler   streamHandler
	log       *slog.Logger
	// checkpoints outlive the reader (nil: kept by the reader only).
	checkpoints *shardCheckpoints
}

// shardCheckpoints hold each stream shard's last record done, by function,
// event and shard, for as long as the stack runs: a reader started again
// (StartConsumers) goes on after it, as Lambda's event source mapping does
// when the function's instances die.
type shardCheckpoints struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *shardCheckpoints) get(key string) string {
	if c == nil {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (c *shardCheckpoints) set(key, seq string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]string{}
	}
	c.m[key] = seq
}

func (s *Stack) goStream(ctx context.Context, fn samtemplate.Function, ev samtemplate.Event) {
	h, ok := s.handlers[fn.LogicalID].(streamHandler)
	if !ok {
		s.report(fmt.Errorf("devstack: %s has a DynamoDB event but no stream handler", fn.LogicalID))
		return
	}
	p := &streamPoller{
		client: dynamodbstreams.NewFromConfig(s.opts.AWS), sqs: sqs.NewFromConfig(s.opts.AWS),
		streamARN: s.Names[ev.TableLogicalID].Attrs["StreamArn"], region: s.opts.AWS.Region, fn: fn, ev: ev, handler: h,
		log:         s.opts.Log.With("function", fn.LogicalID, "table", ev.TableLogicalID),
		checkpoints: &s.checkpoints,
	}
	if q := ev.OnFailureQueueLogicalID; q != "" {
		p.onFailure = s.Names[q].Ref
	}
	if p.streamARN == "" {
		s.report(fmt.Errorf("devstack: %s.%s: table %s has no stream", fn.LogicalID, ev.Name, ev.TableLogicalID))
		return
	}
	shards, err := p.shards(ctx)
	if err != nil {
		s.report(fmt.Errorf("devstack: describe stream of %s: %w", ev.TableLogicalID, err))
		return
	}
	for _, shard := range shards {
		idle := new(atomic.Int64)
		s.streamsMu.Lock()
		s.streamIdle = append(s.streamIdle, idle)
		s.streamsMu.Unlock()
		s.consumers.Add(1)
		go func() {
			defer s.consumers.Done()
			p.run(ctx, aws.ToString(shard.ShardId), idle)
		}()
	}
}

// shards lists the stream's shards, every page.
func (p *streamPoller) shards(ctx context.Context) ([]types.Shard, error) {
	var shards []types.Shard
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: &p.streamARN}
	for {
		out, err := p.client.DescribeStream(ctx, in)
		if err != nil {
			return nil, err
		}
		shards = append(shards, out.StreamDescription.Shards...)
		if out.StreamDescription.LastEvaluatedShardId == nil {
			return shards, nil
		}
		in.ExclusiveStartShardId = out.StreamDescription.LastEvaluatedShardId
	}
}

// WaitStreams waits until every stream has been read to its end after the
// call, every record written before it delivered (what Lambda's event source
// mapping does within moments), or ctx ends.
func (s *Stack) WaitStreams(ctx context.Context) error {
	since := time.Now().UnixNano()
	for {
		s.streamsMu.Lock()
		done := true
		for _, idle := range s.streamIdle {
			done = done && idle.Load() > since
		}
		s.streamsMu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devstack: streams not read to their end: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// run reads shard from the event's starting position until ctx ends; idle
// holds when the last read that found nothing new started. Like Lambda it
// keeps a checkpoint, the last record done (delivered, or discarded after
// its retries): after any error it goes on after it, never from the start.
// A closed shard (moto's never close) is read to its end; its children are
// not followed.
func (p *streamPoller) run(ctx context.Context, shard string, idle *atomic.Int64) {
	key := p.fn.LogicalID + "." + p.ev.Name + "/" + shard
	checkpoint, at := p.checkpoints.get(key), "" // the last record done; the record a retry starts at
	done := func(seq string) { checkpoint = seq; p.checkpoints.set(key, seq) }
	position := func() (*string, error) { return p.position(ctx, shard, checkpoint, at) }
	it, err := position()
	for attempt := 0; ctx.Err() == nil; {
		switch {
		case err != nil:
			p.log.Error("stream", "error", err.Error())
			sleep(ctx, time.Second)
			it, err = position()
			continue
		case it == nil: // closed, and read to its end
			idle.Store(math.MaxInt64)
			return
		}
		started := time.Now().UnixNano()
		out, gerr := p.client.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(int32(max(p.ev.BatchSize, 1)))})
		if gerr != nil {
			err = fmt.Errorf("get records: %w", gerr)
			continue
		}
		if len(out.Records) == 0 {
			idle.Store(started)
			it = out.NextShardIterator
			sleep(ctx, 50*time.Millisecond)
			continue
		}
		retry := p.invoke(ctx, out.Records)
		if retry < 0 {
			done(sequenceNumber(out.Records[len(out.Records)-1]))
			at, it, attempt = "", out.NextShardIterator, 0
			continue
		}
		if retry > 0 { // the records before the first failed one are done
			done(sequenceNumber(out.Records[retry-1]))
		}
		if attempt++; p.ev.MaximumRetryAttempts >= 0 && attempt > p.ev.MaximumRetryAttempts {
			p.discard(ctx, shard, out.Records[retry:], attempt)
			done(sequenceNumber(out.Records[len(out.Records)-1]))
			at, attempt = "", 0
			it, err = position()
			continue
		}
		sleep(ctx, time.Duration(min(attempt, 5))*200*time.Millisecond)
		at = sequenceNumber(out.Records[retry])
		it, err = position()
	}
}

// position is the iterator of shard at record at (a retry), or after the
// checkpoint, or, with neither, at the event's starting position.
func (p *streamPoller) position(ctx context.Context, shard, checkpoint, at string) (*string, error) {
	switch {
	case at != "":
		return p.iterator(ctx, shard, types.ShardIteratorTypeAtSequenceNumber, at)
	case checkpoint != "":
		return p.iterator(ctx, shard, types.ShardIteratorTypeAfterSequenceNumber, checkpoint)
	case p.ev.StartingPosition == "LATEST":
		return p.iterator(ctx, shard, types.ShardIteratorTypeLatest, "")
	}
	return p.iterator(ctx, shard, types.ShardIteratorTypeTrimHorizon, "")
}

func sequenceNumber(r types.Record) string { return aws.ToString(r.Dynamodb.SequenceNumber) }

func (p *streamPoller) iterator(ctx context.Context, shard string, t types.ShardIteratorType, seq string) (*string, error) {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: &p.streamARN, ShardId: &shard, ShardIteratorType: t}
	if seq != "" {
		in.SequenceNumber = &seq
	}
	out, err := p.client.GetShardIterator(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("shard iterator: %w", err)
	}
	return out.ShardIterator, nil
}

// invoke delivers one batch; it returns the index of the record to retry
// from, -1 when the batch succeeded. As Lambda does: the function's error
// retries the whole batch; with ReportBatchItemFailures, the failure with
// the lowest sequence number is retried from, and a failure that names no
// record of the batch (or names none) retries the whole batch.
func (p *streamPoller) invoke(ctx context.Context, recs []types.Record) int {
	ev := events.DynamoDBEvent{Records: make([]events.DynamoDBEventRecord, 0, len(recs))}
	for _, r := range recs {
		ev.Records = append(ev.Records, toStreamRecord(r, p.streamARN, p.region))
	}
	id := newRequestID()
	ictx, cancel := functionContext(ctx, p.fn, id)
	resp, err := p.handler.Handle(ictx, ev)
	cancel()
	switch {
	case err != nil:
		p.log.Error("invocation failed; batch retried", "requestId", id, "error", err.Error())
		return 0
	case !p.ev.ReportBatchItemFailures || len(resp.BatchItemFailures) == 0:
		return -1
	}
	retry := len(recs)
	for _, f := range resp.BatchItemFailures {
		i := slices.IndexFunc(recs, func(r types.Record) bool { return f.ItemIdentifier != "" && sequenceNumber(r) == f.ItemIdentifier })
		if i < 0 {
			i = 0 // names no record of the batch: all of it
		}
		retry = min(retry, i)
	}
	p.log.Warn("batch item failure; retried from it", "requestId", id, "sequenceNumber", sequenceNumber(recs[retry]))
	return retry
}

// discard describes the records of a batch that exhausted its retries to
// the OnFailure queue, in the message Lambda sends: the stream positions,
// not the records.
func (p *streamPoller) discard(ctx context.Context, shard string, recs []types.Record, invocations int) {
	first, last := recs[0], recs[len(recs)-1]
	p.log.Error("batch discarded after its retries", "shard", shard, "first", sequenceNumber(first), "last", sequenceNumber(last), "records", len(recs))
	if p.onFailure == "" {
		return
	}
	arrival := func(r types.Record) string {
		return aws.ToTime(r.Dynamodb.ApproximateCreationDateTime).UTC().Format(time.RFC3339)
	}
	body, err := json.Marshal(map[string]any{
		"requestContext": map[string]any{"requestId": newRequestID(), "functionArn": "arn:aws:lambda:local:000000000000:function:" + p.fn.LogicalID,
			"condition": "RetryAttemptsExhausted", "approximateInvokeCount": invocations},
		"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": ""},
		"version":         "1.0",
		"timestamp":       time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"DDBStreamBatchInfo": map[string]any{
			"shardId": shard, "startSequenceNumber": sequenceNumber(first), "endSequenceNumber": sequenceNumber(last),
			"approximateArrivalOfFirstRecord": arrival(first), "approximateArrivalOfLastRecord": arrival(last),
			"batchSize": len(recs), "streamArn": p.streamARN,
		},
	})
	if err == nil {
		_, err = p.sqs.SendMessage(context.WithoutCancel(ctx), &sqs.SendMessageInput{QueueUrl: &p.onFailure, MessageBody: aws.String(string(body))})
	}
	if err != nil {
		p.log.Error("on-failure destination", "error", err.Error())
	}
}

// toStreamRecord converts a stream record to the record Lambda delivers.
func toStreamRecord(r types.Record, streamARN, region string) events.DynamoDBEventRecord {
	d := r.Dynamodb
	rec := events.DynamoDBEventRecord{
		AWSRegion: region, EventID: aws.ToString(r.EventID), EventName: string(r.EventName), EventSource: "aws:dynamodb",
		EventVersion: aws.ToString(r.EventVersion), EventSourceArn: streamARN,
	}
	if d == nil {
		return rec
	}
	rec.Change = events.DynamoDBStreamRecord{
		Keys: toEventAttributes(d.Keys), NewImage: toEventAttributes(d.NewImage), OldImage: toEventAttributes(d.OldImage),
		SequenceNumber: aws.ToString(d.SequenceNumber), SizeBytes: aws.ToInt64(d.SizeBytes), StreamViewType: string(d.StreamViewType),
	}
	if d.ApproximateCreationDateTime != nil {
		rec.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
	}
	return rec
}

func toEventAttributes(m map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = toEventAttribute(v)
	}
	return out
}

func toEventAttribute(v types.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *types.AttributeValueMemberM:
		return events.NewMapAttribute(toEventAttributes(v.Value))
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = toEventAttribute(e)
		}
		return events.NewListAttribute(l)
	}
	return events.NewNullAttribute()
}

package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/privacyops/dsr/internal/samtemplate"
)

type streamHandler interface {
	Handle(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)
}

// streamPoller is the local event source mapping of one DynamoDB stream
// event, as Lambda runs it for each shard: batches of BatchSize records in
// order; a batch that fails (the function's error, or the first record it
// reports with ReportBatchItemFailures) is retried from the failed record,
// MaximumRetryAttempts times at most, after which its records are
// described to the OnFailure queue and skipped.
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
		log: s.opts.Log.With("function", fn.LogicalID, "table", ev.TableLogicalID),
	}
	if q := ev.OnFailureQueueLogicalID; q != "" {
		p.onFailure = s.Names[q].Ref
	}
	if p.streamARN == "" {
		s.report(fmt.Errorf("devstack: %s.%s: table %s has no stream", fn.LogicalID, ev.Name, ev.TableLogicalID))
		return
	}
	out, err := p.client.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: &p.streamARN})
	if err != nil {
		s.report(fmt.Errorf("devstack: describe stream of %s: %w", ev.TableLogicalID, err))
		return
	}
	for _, shard := range out.StreamDescription.Shards {
		idle := new(atomic.Int64)
		s.streamsMu.Lock()
		s.streamIdle = append(s.streamIdle, idle)
		s.streamsMu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			p.run(ctx, aws.ToString(shard.ShardId), idle)
		}()
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
// holds when the last read that found nothing new started.
func (p *streamPoller) run(ctx context.Context, shard string, idle *atomic.Int64) {
	start := types.ShardIteratorTypeTrimHorizon
	if p.ev.StartingPosition == "LATEST" {
		start = types.ShardIteratorTypeLatest
	}
	it, err := p.iterator(ctx, shard, start, "")
	for attempt := 0; ctx.Err() == nil; {
		if err != nil {
			p.log.Error("stream", "error", err.Error())
			sleep(ctx, time.Second)
			it, err = p.iterator(ctx, shard, start, "")
			continue
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
		failed := p.invoke(ctx, out.Records)
		if failed == "" {
			it, attempt = out.NextShardIterator, 0
			continue
		}
		if attempt++; p.ev.MaximumRetryAttempts >= 0 && attempt > p.ev.MaximumRetryAttempts {
			p.discard(ctx, shard, out.Records)
			last := aws.ToString(out.Records[len(out.Records)-1].Dynamodb.SequenceNumber)
			it, err = p.iterator(ctx, shard, types.ShardIteratorTypeAfterSequenceNumber, last)
			attempt = 0
			continue
		}
		sleep(ctx, time.Duration(min(attempt, 5))*200*time.Millisecond)
		it, err = p.iterator(ctx, shard, types.ShardIteratorTypeAtSequenceNumber, failed)
	}
}

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

// invoke delivers one batch; it returns the sequence number to retry from,
// "" when the batch succeeded.
func (p *streamPoller) invoke(ctx context.Context, recs []types.Record) string {
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
		return aws.ToString(recs[0].Dynamodb.SequenceNumber)
	case p.ev.ReportBatchItemFailures && len(resp.BatchItemFailures) > 0:
		p.log.Warn("batch item failure; retried from it", "requestId", id, "sequenceNumber", resp.BatchItemFailures[0].ItemIdentifier)
		return resp.BatchItemFailures[0].ItemIdentifier
	}
	return ""
}

// discard describes a batch that exhausted its retries to the OnFailure
// queue, as Lambda does (the stream positions, not the records).
func (p *streamPoller) discard(ctx context.Context, shard string, recs []types.Record) {
	first, last := aws.ToString(recs[0].Dynamodb.SequenceNumber), aws.ToString(recs[len(recs)-1].Dynamodb.SequenceNumber)
	p.log.Error("batch discarded after its retries", "shard", shard, "first", first, "last", last, "records", len(recs))
	if p.onFailure == "" {
		return
	}
	body, _ := json.Marshal(map[string]any{"DDBStreamBatchInfo": map[string]any{
		"shardId": shard, "startSequenceNumber": first, "endSequenceNumber": last, "batchSize": len(recs), "streamArn": p.streamARN,
	}})
	if _, err := p.sqs.SendMessage(context.WithoutCancel(ctx), &sqs.SendMessageInput{QueueUrl: &p.onFailure, MessageBody: aws.String(string(body))}); err != nil {
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

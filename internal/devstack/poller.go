package devstack

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// poller is the local event source mapping of one SQS event: it receives
// batches, invokes the handler, and deletes what succeeded. Failed messages
// stay, reappear after the queue's visibility timeout, and move to the
// dead-letter queue after maxReceiveCount receives: the emulator does that,
// as SQS does. Several goroutines run one poller (pollerCount), as Lambda
// runs several pollers per SQS event source: but for receiving, its fields
// are only read.
type poller struct {
	client   *sqs.Client
	queueURL string
	queueARN string
	region   string
	fn       samtemplate.Function
	ev       samtemplate.Event
	handler  sqsHandler
	log      *slog.Logger
	// receiving is held by the poller whose ReceiveMessage is under way: moto
	// does not make a receive atomic (two at once can both take a message,
	// which SQS all but never does), so receives are one at a time. The
	// batches are handled, and their messages deleted, outside it.
	receiving sync.Mutex
}

// How many pollers an SQS event gets when the template does not say, and at
// most. Lambda starts with five pollers per SQS event source and scales up
// to its MaximumConcurrency (1,000 at most); locally every poller is a
// goroutine that long-polls the emulator and each batch runs in-process, so
// a few are enough to keep a slow or failing batch from holding up the rest,
// and the cap keeps a laptop of two cores responsive (the worker's
// WorkerConcurrency of 20 runs 8 here).
const (
	defaultPollers = 3
	maxPollers     = 8
)

// pollerCount is how many pollers run an SQS event: its
// ScalingConfig.MaximumConcurrency when set, else the function's
// ReservedConcurrentExecutions, else defaultPollers; never more than the
// function's reserved concurrency (Lambda would throttle the batches beyond
// it) nor maxPollers.
func pollerCount(fn samtemplate.Function, ev samtemplate.Event) int {
	n := defaultPollers
	switch {
	case ev.MaximumConcurrency > 0 && fn.ReservedConcurrency > 0:
		n = min(ev.MaximumConcurrency, fn.ReservedConcurrency)
	case ev.MaximumConcurrency > 0:
		n = ev.MaximumConcurrency
	case fn.ReservedConcurrency > 0:
		n = fn.ReservedConcurrency
	}
	return max(1, min(n, maxPollers))
}

// start runs n pollers of p until ctx ends, counted in wg.
func (p *poller) start(ctx context.Context, n int, wg *sync.WaitGroup) {
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(ctx)
		}()
	}
}

// run receives and handles batches until ctx ends; a batch the function
// fails is left to its visibility timeout, and run goes on with the next.
func (p *poller) run(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := p.once(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.Error("poll", "error", err.Error())
			sleep(ctx, time.Second)
		}
		if n == 0 {
			sleep(ctx, 100*time.Millisecond)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// once receives and handles one batch; it returns how many messages it got.
// A function error leaves the whole batch for redelivery; otherwise the
// messages the function did not report as failed are deleted.
func (p *poller) once(ctx context.Context) (int, error) {
	msgs, err := p.receive(ctx)
	if err != nil {
		return 0, err
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		ev.Records = append(ev.Records, toEvent(m, p.queueARN, p.region))
	}
	id := newRequestID()
	ictx, cancel := functionContext(ctx, p.fn, id)
	resp, err := p.handler.Handle(ictx, ev)
	cancel()
	if err != nil {
		// A function error fails the whole batch: nothing is deleted.
		p.log.Error("invocation failed; batch left for redelivery", "requestId", id, "error", err.Error())
		return len(msgs), nil
	}
	failed := p.failedItems(resp)
	entries := deleteEntries(msgs, failed)
	if len(failed) > 0 {
		p.log.Warn("partial batch failure; failed messages left for redelivery", "requestId", id, "failed", len(failed), "of", len(msgs))
	}
	return len(msgs), p.delete(ctx, entries)
}

// receive long-polls the queue for up to BatchSize messages (SQS gives at
// most 10), with their system and message attributes, which the records
// Lambda delivers carry.
func (p *poller) receive(ctx context.Context) ([]types.Message, error) {
	p.receiving.Lock()
	defer p.receiving.Unlock()
	out, err := p.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    &p.queueURL,
		MaxNumberOfMessages:         int32(min(max(p.ev.BatchSize, 1), 10)),
		WaitTimeSeconds:             1,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		return nil, fmt.Errorf("receive: %w", err)
	}
	return out.Messages, nil
}

// failedItems are the message ids the function reported failed; Lambda
// reads the report only when the event has ReportBatchItemFailures, so
// without it nothing failed.
func (p *poller) failedItems(resp events.SQSEventResponse) map[string]bool {
	failed := map[string]bool{}
	if p.ev.ReportBatchItemFailures {
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
	}
	return failed
}

// deleteEntries are the DeleteMessageBatch entries of the messages that
// did not fail, each with its index in the batch as entry id.
func deleteEntries(msgs []types.Message, failed map[string]bool) []types.DeleteMessageBatchRequestEntry {
	var entries []types.DeleteMessageBatchRequestEntry
	for i, m := range msgs {
		if !failed[aws.ToString(m.MessageId)] {
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
	}
	return entries
}

// delete deletes the handled messages, if any, even when ctx has ended
// meanwhile: they were handled, and must not be delivered again.
func (p *poller) delete(ctx context.Context, entries []types.DeleteMessageBatchRequestEntry) error {
	if len(entries) == 0 {
		return nil
	}
	del, err := p.client.DeleteMessageBatch(context.WithoutCancel(ctx), &sqs.DeleteMessageBatchInput{QueueUrl: &p.queueURL, Entries: entries})
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if len(del.Failed) > 0 {
		return fmt.Errorf("delete: %d messages not deleted", len(del.Failed))
	}
	return nil
}

// toEvent converts a received message to the record Lambda would deliver.
func toEvent(m types.Message, queueARN, region string) events.SQSMessage {
	rec := events.SQSMessage{
		MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
		Md5OfBody: aws.ToString(m.MD5OfBody), Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
		Attributes: map[string]string{}, MessageAttributes: map[string]events.SQSMessageAttribute{},
		EventSourceARN: queueARN, EventSource: "aws:sqs", AWSRegion: region,
	}
	for k, v := range m.Attributes {
		rec.Attributes[k] = v
	}
	for k, v := range m.MessageAttributes {
		rec.MessageAttributes[k] = events.SQSMessageAttribute{
			StringValue: v.StringValue, BinaryValue: v.BinaryValue, DataType: aws.ToString(v.DataType),
		}
	}
	return rec
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func lambdaContext(ctx context.Context, fn samtemplate.Function, requestID string) context.Context {
	return lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       requestID,
		InvokedFunctionArn: "arn:aws:lambda:local:000000000000:function:" + fn.LogicalID,
	})
}

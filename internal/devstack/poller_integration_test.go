//go:build integration

package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/privacyops/dsr/internal/devstack/provision/provisiontest"
	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

// recordingSQS records the body of every record delivered to it and of
// every record it was done with, and answers each record as answer says
// (an error: the record is reported failed).
type recordingSQS struct {
	mu        sync.Mutex
	delivered []string
	done      []string
	answer    func(ctx context.Context, body string) error
}

func (h *recordingSQS) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, r := range ev.Records {
		h.note(&h.delivered, r.Body)
		if err := h.answer(ctx, r.Body); err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			continue
		}
		h.note(&h.done, r.Body)
	}
	return resp, nil
}

func (h *recordingSQS) note(list *[]string, body string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	*list = append(*list, body)
}

// count is how many times body is in list.
func (h *recordingSQS) count(list *[]string, body string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, b := range *list {
		if b == body {
			n++
		}
	}
	return n
}

func (h *recordingSQS) snapshot(list *[]string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(*list)
}

// queueFixture is a queue with the given visibility timeout and, with
// maxReceives > 0, a dead-letter queue it redrives to after maxReceives
// receives.
type queueFixture struct {
	sqs      *sqs.Client
	url, dlq string
}

func newQueueFixture(t *testing.T, visibility, maxReceives int) *queueFixture {
	t.Helper()
	ctx := context.Background()
	f := &queueFixture{sqs: sqs.NewFromConfig(provisiontest.Config(t))}
	name := fmt.Sprintf("pollers-%d", time.Now().UnixNano())
	attrs := map[string]string{"VisibilityTimeout": strconv.Itoa(visibility)}
	if maxReceives > 0 {
		f.dlq = f.create(t, name+"-dlq", nil)
		arn, err := f.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &f.dlq, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		attrs["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, arn.Attributes["QueueArn"], maxReceives)
	}
	f.url = f.create(t, name, attrs)
	return f
}

func (f *queueFixture) create(t *testing.T, name string, attrs map[string]string) string {
	t.Helper()
	out, err := f.sqs.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: &name, Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = f.sqs.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl}) })
	return aws.ToString(out.QueueUrl)
}

// send sends bodies, ten to a call.
func (f *queueFixture) send(t *testing.T, bodies ...string) {
	t.Helper()
	for chunk := range slices.Chunk(bodies, 10) {
		var entries []sqstypes.SendMessageBatchRequestEntry
		for i, b := range chunk {
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)})
		}
		if _, err := f.sqs.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: &f.url, Entries: entries}); err != nil {
			t.Fatal(err)
		}
	}
}

// left is how many messages queue url still holds, visible or in flight.
func (f *queueFixture) left(t *testing.T, url string) int {
	t.Helper()
	out, err := f.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	}})
	if err != nil {
		t.Fatal(err)
	}
	visible, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	inFlight, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return visible + inFlight
}

// pollers runs n pollers of the queue with h until the test's end, or
// until the returned stop is called, which waits for them.
func (f *queueFixture) pollers(t *testing.T, h sqsHandler, n, batchSize int) (stop func()) {
	t.Helper()
	p := &poller{
		client: f.sqs, queueURL: f.url, queueARN: "arn:aws:sqs:us-east-1:000000000000:pollers", region: "us-east-1",
		fn:      samtemplate.Function{LogicalID: "PollersFunction", Timeout: time.Minute},
		ev:      samtemplate.Event{BatchSize: batchSize, ReportBatchItemFailures: true},
		handler: h, log: slog.New(slog.DiscardHandler),
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	p.start(ctx, n, &wg)
	stop = sync.OnceFunc(func() { cancel(); wg.Wait() })
	t.Cleanup(stop)
	return stop
}

// await waits until cond holds; the test fails with what if it does not
// within a minute (a bound, so that a broken poller fails the test rather
// than hanging it).
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
	}
}

func bodies(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("m%02d", i)
	}
	return out
}

// A batch the function takes long over holds up only its poller: while
// it is blocked, every message sent after it is handled by the others, once;
// it is done last, and every message is deleted.
func TestPollersBlockedBatchHoldsUpOnlyItsPoller(t *testing.T) {
	f := newQueueFixture(t, 300, 0)
	blocked, release := make(chan struct{}), make(chan struct{})
	block := sync.OnceFunc(func() { close(blocked) })
	h := &recordingSQS{answer: func(ctx context.Context, body string) error {
		if body == "slow" {
			block()
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}}
	f.send(t, "slow")
	stop := f.pollers(t, h, 3, 1)
	await(t, "the slow message delivered", func() bool { return h.count(&h.delivered, "slow") == 1 })
	<-blocked
	others := bodies(20)
	f.send(t, others...)
	await(t, "the messages behind the blocked batch handled", func() bool { return len(h.snapshot(&h.done)) == len(others) })
	close(release)
	await(t, "the slow message done", func() bool { return h.count(&h.done, "slow") == 1 })
	stop()

	done := h.snapshot(&h.done)
	if done[len(done)-1] != "slow" {
		t.Errorf("done in the order %v, want the slow message last", done)
	}
	for _, b := range append(others, "slow") {
		if n := h.count(&h.delivered, b); n != 1 {
			t.Errorf("%s delivered %d times, want once", b, n)
		}
	}
	if n := f.left(t, f.url); n != 0 {
		t.Errorf("%d messages left in the queue, want every one deleted", n)
	}
}

// A message the function always fails waits out its visibility timeout and
// is delivered again, maxReceiveCount times, then moves to the dead-letter
// queue; the messages of its batches that succeeded are deleted, and all
// the others go through once each meanwhile.
func TestPollersFailingMessageOnlyWaitsItsVisibilityTimeout(t *testing.T) {
	const maxReceives = 2
	f := newQueueFixture(t, 1, maxReceives)
	h := &recordingSQS{answer: func(_ context.Context, body string) error {
		if body == "bad" {
			return fmt.Errorf("bad message")
		}
		return nil
	}}
	others := bodies(30)
	f.send(t, append([]string{"bad"}, others...)...)
	stop := f.pollers(t, h, 3, 10)
	await(t, "the failing message in the dead-letter queue", func() bool { return f.left(t, f.dlq) == 1 })
	await(t, "the other messages handled", func() bool { return len(h.snapshot(&h.done)) == len(others) })
	stop()

	if n := h.count(&h.delivered, "bad"); n != maxReceives {
		t.Errorf("the failing message delivered %d times, want %d (maxReceiveCount)", n, maxReceives)
	}
	for _, b := range others {
		if n := h.count(&h.delivered, b); n != 1 {
			t.Errorf("%s delivered %d times, want once", b, n)
		}
	}
	if n := f.left(t, f.url); n != 0 {
		t.Errorf("%d messages left in the queue, want none", n)
	}
}

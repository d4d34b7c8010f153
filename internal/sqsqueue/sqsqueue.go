// Package sqsqueue sends the pipeline's messages to SQS queues.
package sqsqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/privacyops/dsr/internal/dsr"
)

// API is the part of the SQS client the queue uses.
type API interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Queue is one SQS queue.
type Queue struct {
	Client API
	URL    string
}

// SendRequest sends a verified request to the request queue.
func (q *Queue) SendRequest(ctx context.Context, m dsr.RequestMessage) error { return q.send(ctx, m) }

// SendTask sends one task (a continuation) to the task queue.
func (q *Queue) SendTask(ctx context.Context, m dsr.TaskMessage) error { return q.send(ctx, m) }

// SendDecision sends a DPO's decision on an objection (or its continuation)
// to the task queue.
func (q *Queue) SendDecision(ctx context.Context, m dsr.DecisionMessage) error { return q.send(ctx, m) }

// SendRequestAfter sends a request to the request queue again, to be
// delivered after delay (at most 15 minutes, SQS's limit).
func (q *Queue) SendRequestAfter(ctx context.Context, m dsr.RequestMessage, delay time.Duration) error {
	return q.sendAfter(ctx, m, delay)
}

func (q *Queue) send(ctx context.Context, m any) error { return q.sendAfter(ctx, m, 0) }

func (q *Queue) sendAfter(ctx context.Context, m any, delay time.Duration) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("send message: %w", err)
	}
	in := &sqs.SendMessageInput{QueueUrl: &q.URL, MessageBody: aws.String(string(b))}
	if delay > 0 {
		in.DelaySeconds = int32(min(delay, 15*time.Minute) / time.Second)
	}
	if _, err := q.Client.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("send message: %w", err)
	}
	return nil
}

// SendTasks sends tasks in batches of ten (the SQS limit); any entry that
// fails fails the call, and a retry resends all: consumers are idempotent.
func (q *Queue) SendTasks(ctx context.Context, tasks []dsr.TaskMessage) error {
	return sendBatches(ctx, q, tasks, "send tasks")
}

// sendBatches sends one message per value of ms, ten per SendMessageBatch.
func sendBatches[M any](ctx context.Context, q *Queue, ms []M, op string) error {
	for start := 0; start < len(ms); start += 10 {
		end := min(start+10, len(ms))
		entries := make([]types.SendMessageBatchRequestEntry, 0, end-start)
		for i, m := range ms[start:end] {
			b, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(start + i)), MessageBody: aws.String(string(b))})
		}
		out, err := q.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &q.URL, Entries: entries})
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return fmt.Errorf("%s: %d of %d failed, first: %s", op, len(out.Failed), len(entries), aws.ToString(f.Code))
		}
	}
	return nil
}

// ContinueMessage is the body of a continuation of a scheduled job.
type ContinueMessage struct {
	Continue string `json:"continue"`
}

// Continue asks the job that consumes the queue to resume from its checkpoint.
func (q *Queue) Continue(ctx context.Context) error {
	return q.send(ctx, ContinueMessage{Continue: "retention"})
}

// ContinueBackfill asks the backfill function that consumes the queue to
// resume purpose's backfill from its checkpoints.
func (q *Queue) ContinueBackfill(ctx context.Context, purpose string) error {
	return q.send(ctx, struct {
		Purpose string `json:"purpose"`
	}{purpose})
}

// Reject sends a message that can never be processed to this queue (a
// dead-letter queue) with the reason as the message attribute "reason", and
// the id of the message it was as "sourceMessageId". The reason must hold
// no personal data; the body is the message as received.
func (q *Queue) Reject(ctx context.Context, body, reason, messageID string) error {
	attrs := map[string]types.MessageAttributeValue{
		"reason":          {DataType: aws.String("String"), StringValue: aws.String(reason)},
		"sourceMessageId": {DataType: aws.String("String"), StringValue: aws.String(messageID)},
	}
	if _, err := q.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &q.URL, MessageBody: aws.String(body), MessageAttributes: attrs}); err != nil {
		return fmt.Errorf("dead-letter message: %w", err)
	}
	return nil
}

// SendNotices sends recipient notices (Art. 19), ten per batch; any entry
// that fails fails the call, and a retry resends all (each notice carries an
// id for the consumer to drop duplicates).
func (q *Queue) SendNotices(ctx context.Context, notices []dsr.RecipientNotice) error {
	return sendBatches(ctx, q, notices, "send recipient notices")
}

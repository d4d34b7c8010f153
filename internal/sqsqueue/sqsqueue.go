// Package sqsqueue sends the pipeline's messages to SQS queues.
package sqsqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

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

func (q *Queue) send(ctx context.Context, m any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("send message: %w", err)
	}
	if _, err := q.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &q.URL, MessageBody: aws.String(string(b))}); err != nil {
		return fmt.Errorf("send message: %w", err)
	}
	return nil
}

// SendTasks sends tasks in batches of ten (the SQS limit); any entry that
// fails fails the call, and a retry resends all: consumers are idempotent.
func (q *Queue) SendTasks(ctx context.Context, tasks []dsr.TaskMessage) error {
	for start := 0; start < len(tasks); start += 10 {
		end := min(start+10, len(tasks))
		entries := make([]types.SendMessageBatchRequestEntry, 0, end-start)
		for i, t := range tasks[start:end] {
			b, err := json.Marshal(t)
			if err != nil {
				return fmt.Errorf("send tasks: %w", err)
			}
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(start + i)), MessageBody: aws.String(string(b))})
		}
		out, err := q.Client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &q.URL, Entries: entries})
		if err != nil {
			return fmt.Errorf("send tasks: %w", err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return fmt.Errorf("send tasks: %d of %d failed, first: %s", len(out.Failed), len(entries), aws.ToString(f.Code))
		}
	}
	return nil
}

package dsrtest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// Queue records every message the product sends to its queues, by the
// method of sqsqueue.Queue it was sent with, or fails every send with the
// error set by SetErr (a failed send records nothing). Safe for concurrent
// use; the zero value records.
type Queue struct {
	mu        sync.Mutex
	err       error
	requests  []dsr.RequestMessage
	delayed   []Delayed
	tasks     []dsr.TaskMessage
	decisions []dsr.DecisionMessage
	batches   [][]dsr.TaskMessage
	notices   [][]dsr.RecipientNotice
	continues int
	backfills []string
	rejected  []Rejected
}

// Delayed is a request sent again to be delivered after Delay.
type Delayed struct {
	Message dsr.RequestMessage
	Delay   time.Duration
}

// Rejected is a message sent to a dead-letter queue.
type Rejected struct {
	Body, Reason, MessageID string
}

// SetErr makes every send fail with err (nil: succeed again).
func (q *Queue) SetErr(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.err = err
}

// record appends under the lock unless sends fail.
func (q *Queue) record(add func()) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	add()
	return nil
}

// SendRequest records a request sent to the request queue.
func (q *Queue) SendRequest(_ context.Context, m dsr.RequestMessage) error {
	return q.record(func() { q.requests = append(q.requests, m) })
}

// SendRequestAfter records a request sent again with a delay.
func (q *Queue) SendRequestAfter(_ context.Context, m dsr.RequestMessage, delay time.Duration) error {
	return q.record(func() { q.delayed = append(q.delayed, Delayed{Message: m, Delay: delay}) })
}

// SendTask records one task (a continuation).
func (q *Queue) SendTask(_ context.Context, m dsr.TaskMessage) error {
	return q.record(func() { q.tasks = append(q.tasks, m) })
}

// SendDecision records a DPO's decision to apply (or its continuation).
func (q *Queue) SendDecision(_ context.Context, m dsr.DecisionMessage) error {
	return q.record(func() { q.decisions = append(q.decisions, m) })
}

// SendTasks records a batch of tasks.
func (q *Queue) SendTasks(_ context.Context, tasks []dsr.TaskMessage) error {
	return q.record(func() { q.batches = append(q.batches, slices.Clone(tasks)) })
}

// SendNotices records a batch of recipient notices.
func (q *Queue) SendNotices(_ context.Context, notices []dsr.RecipientNotice) error {
	return q.record(func() { q.notices = append(q.notices, slices.Clone(notices)) })
}

// Continue records a scheduled job's continuation.
func (q *Queue) Continue(context.Context) error {
	return q.record(func() { q.continues++ })
}

// ContinueBackfill records a continuation of purpose's backfill.
func (q *Queue) ContinueBackfill(_ context.Context, purpose string) error {
	return q.record(func() { q.backfills = append(q.backfills, purpose) })
}

// Reject records a message sent to a dead-letter queue.
func (q *Queue) Reject(_ context.Context, body, reason, messageID string) error {
	return q.record(func() { q.rejected = append(q.rejected, Rejected{Body: body, Reason: reason, MessageID: messageID}) })
}

// Requests returns the requests sent (SendRequest), in order.
func (q *Queue) Requests() []dsr.RequestMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.requests)
}

// Delayed returns the requests sent again with a delay, in order.
func (q *Queue) Delayed() []Delayed {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.delayed)
}

// Tasks returns the tasks sent one by one (SendTask), in order.
func (q *Queue) Tasks() []dsr.TaskMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.tasks)
}

// TakeTasks returns the tasks sent one by one and forgets them: a test that
// delivers each continuation in turn takes what its last delivery sent.
func (q *Queue) TakeTasks() []dsr.TaskMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	tasks := q.tasks
	q.tasks = nil
	return tasks
}

// Decisions returns the decisions sent (SendDecision), in order.
func (q *Queue) Decisions() []dsr.DecisionMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.decisions)
}

// TakeDecisions returns the decisions sent and forgets them, as TakeTasks.
func (q *Queue) TakeDecisions() []dsr.DecisionMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	decisions := q.decisions
	q.decisions = nil
	return decisions
}

// TaskBatches returns the batches of tasks sent (SendTasks), in order.
func (q *Queue) TaskBatches() [][]dsr.TaskMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	return cloneBatches(q.batches)
}

// Notices returns the batches of recipient notices sent, in order.
func (q *Queue) Notices() [][]dsr.RecipientNotice {
	q.mu.Lock()
	defer q.mu.Unlock()
	return cloneBatches(q.notices)
}

// Continues counts the continuations of a scheduled job.
func (q *Queue) Continues() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.continues
}

// Backfills returns the purposes whose backfill was continued, in order.
func (q *Queue) Backfills() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.backfills)
}

// Rejects returns the messages sent to a dead-letter queue, in order.
func (q *Queue) Rejects() []Rejected {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.rejected)
}

func cloneBatches[T any](batches [][]T) [][]T {
	if batches == nil {
		return nil
	}
	out := make([][]T, len(batches))
	for i, b := range batches {
		out[i] = slices.Clone(b)
	}
	return out
}

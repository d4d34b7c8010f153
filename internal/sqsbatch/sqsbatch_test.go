package sqsbatch_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/sqsbatch"
)

func batch(ids ...string) events.SQSEvent {
	var ev events.SQSEvent
	for _, id := range ids {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: id, Body: id})
	}
	return ev
}

func failed(resp events.SQSEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// outcome answers each message by its body: "ok", "err", "poison".
func outcome(_ context.Context, msg events.SQSMessage) error {
	switch msg.Body[:2] {
	case "er":
		return errors.New("throttled")
	case "po":
		return sqsbatch.Poison(errors.New("not a task message"))
	}
	return nil
}

func TestRun(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	cases := []struct {
		name       string
		dead       func(context.Context, events.SQSMessage, error) error
		wantFailed []string
		wantDead   []string
	}{
		{name: "each failure is reported alone; poison is left to the redrive without a sink",
			wantFailed: []string{"err-1", "poison-1"}},
		{name: "poison goes to the sink and is acknowledged",
			dead: func(context.Context, events.SQSMessage, error) error { return nil }, wantFailed: []string{"err-1"}, wantDead: []string{"poison-1"}},
		{name: "poison whose sink fails is reported failed",
			dead: func(context.Context, events.SQSMessage, error) error { return errors.New("sink down") }, wantFailed: []string{"err-1", "poison-1"}, wantDead: []string{"poison-1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var dead []string
			r := sqsbatch.Runner{Failed: "task failed", Log: log}
			if c.dead != nil {
				r.Dead = func(ctx context.Context, msg events.SQSMessage, reason error) error {
					if !sqsbatch.IsPoison(reason) {
						t.Errorf("Dead got %v, not poison", reason)
					}
					dead = append(dead, msg.MessageId)
					return c.dead(ctx, msg, reason)
				}
			}
			resp := r.Run(context.Background(), batch("ok-1", "err-1", "poison-1", "ok-2"), outcome)
			if diff := cmp.Diff(c.wantFailed, failed(resp)); diff != "" {
				t.Errorf("failed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.wantDead, dead); diff != "" {
				t.Errorf("dead (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRunRequeuesNearTheDeadline: after the first message, the rest of a
// batch begun too close to the deadline is requeued, not processed; a
// requeue that fails reports its message failed.
func TestRunRequeuesNearTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var processed, requeued []string
	r := sqsbatch.Runner{Failed: "task failed", Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Reserve: time.Hour,
		Requeue: func(_ context.Context, msg events.SQSMessage) error {
			requeued = append(requeued, msg.MessageId)
			if msg.Body == "err-1" {
				return errors.New("queue down")
			}
			return nil
		}}
	resp := r.Run(ctx, batch("ok-1", "ok-2", "err-1"), func(ctx context.Context, msg events.SQSMessage) error {
		processed = append(processed, msg.MessageId)
		return nil
	})
	if diff := cmp.Diff([]string{"ok-1"}, processed); diff != "" {
		t.Errorf("processed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ok-2", "err-1"}, requeued); diff != "" {
		t.Errorf("requeued (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"err-1"}, failed(resp)); diff != "" {
		t.Errorf("failed (-want +got):\n%s", diff)
	}
}

func TestPoison(t *testing.T) {
	base := errors.New("bad")
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil stays nil", sqsbatch.Poison(nil), false},
		{"plain error", base, false},
		{"marked", sqsbatch.Poison(base), true},
		{"marked and wrapped", errors.Join(errors.New("task"), sqsbatch.Poison(base)), true},
	}
	for _, c := range cases {
		if got := sqsbatch.IsPoison(c.err); got != c.want {
			t.Errorf("%s: IsPoison = %v, want %v", c.name, got, c.want)
		}
	}
	if !errors.Is(sqsbatch.Poison(base), base) {
		t.Error("Poison hides the error it marks")
	}
}

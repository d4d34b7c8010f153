package dsrtest_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dispatch"
	"github.com/privacyops/dsr/internal/dpo"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/intake"
	"github.com/privacyops/dsr/internal/keying"
	"github.com/privacyops/dsr/internal/provenance"
	"github.com/privacyops/dsr/internal/retention"
	"github.com/privacyops/dsr/internal/sqsqueue"
	"github.com/privacyops/dsr/internal/worker"
)

// The queue interfaces of the functions the fake stands in for.
var (
	_ dispatch.Queue         = (*dsrtest.Queue)(nil)
	_ dispatch.Requeue       = (*dsrtest.Queue)(nil)
	_ dpo.Queue              = (*dsrtest.Queue)(nil)
	_ dpo.Tasks              = (*dsrtest.Queue)(nil)
	_ intake.Queue           = (*dsrtest.Queue)(nil)
	_ worker.Tasks           = (*dsrtest.Queue)(nil)
	_ worker.Notices         = (*dsrtest.Queue)(nil)
	_ retention.Continuer    = (*dsrtest.Queue)(nil)
	_ keying.Continuer       = (*dsrtest.Queue)(nil)
	_ provenance.DeadLetters = (*dsrtest.Queue)(nil)
)

// TestQueueSendsWhatSQSQueueSends: every method of sqsqueue.Queue but its
// fields' is recorded by the fake, with the same signature, so a new kind of
// message cannot be sent without the fake knowing it.
func TestQueueSendsWhatSQSQueueSends(t *testing.T) {
	real, fake := reflect.TypeFor[*sqsqueue.Queue](), reflect.TypeFor[*dsrtest.Queue]()
	for i := range real.NumMethod() {
		m := real.Method(i)
		f, ok := fake.MethodByName(m.Name)
		if !ok || f.Type.String() != reflect.FuncOf(
			append([]reflect.Type{fake}, params(m.Type)[1:]...), results(m.Type), false).String() {
			t.Errorf("dsrtest.Queue does not have %s%s", m.Name, m.Type)
		}
	}
}

func params(f reflect.Type) []reflect.Type {
	var ps []reflect.Type
	for i := range f.NumIn() {
		ps = append(ps, f.In(i))
	}
	return ps
}

func results(f reflect.Type) []reflect.Type {
	var rs []reflect.Type
	for i := range f.NumOut() {
		rs = append(rs, f.Out(i))
	}
	return rs
}

func TestQueueRecordsOrFails(t *testing.T) {
	ctx, q := context.Background(), &dsrtest.Queue{}
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			_ = q.SendRequest(ctx, dsr.RequestMessage{RequestID: "R1"})
			_ = q.SendTask(ctx, dsr.TaskMessage{RequestID: "R1", Purpose: "billing"})
			_ = q.SendTasks(ctx, []dsr.TaskMessage{{RequestID: "R1", Purpose: "marketing"}})
			_ = q.Continue(ctx)
		})
	}
	wg.Wait()
	if len(q.Requests()) != 5 || len(q.Tasks()) != 5 || len(q.TaskBatches()) != 5 || q.Continues() != 5 {
		t.Errorf("recorded %d requests, %d tasks, %d batches, %d continuations; want 5 each", len(q.Requests()), len(q.Tasks()), len(q.TaskBatches()), q.Continues())
	}
	if got := q.TakeTasks(); len(got) != 5 || len(q.Tasks()) != 0 {
		t.Errorf("took %d tasks, %d left", len(got), len(q.Tasks()))
	}
	down := errors.New("down")
	q.SetErr(down)
	if err := q.SendRequestAfter(ctx, dsr.RequestMessage{RequestID: "R2"}, 0); !errors.Is(err, down) || q.Delayed() != nil {
		t.Errorf("a failing send: %v, recorded %v", err, q.Delayed())
	}
	q.SetErr(nil)
	if err := q.Reject(ctx, "{", "malformed", "m1"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]dsrtest.Rejected{{Body: "{", Reason: "malformed", MessageID: "m1"}}, q.Rejects()); diff != "" {
		t.Errorf("rejects (-want +got):\n%s", diff)
	}
}

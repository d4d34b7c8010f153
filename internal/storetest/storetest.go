// Package storetest is the contract every request store fulfils: one suite,
// run against the in-memory fake and against the DynamoDB adapter on the
// emulator.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
)

// Store is what the suite exercises: the union of what the functions use.
type Store interface {
	Create(ctx context.Context, r *dsr.Request) error
	Get(ctx context.Context, id string) (*dsr.Request, error)
	UseAttempt(ctx context.Context, id string, now time.Time) (*dsr.Request, error)
	Transition(ctx context.Context, id string, from, to dsr.Status, now time.Time, ch dsr.Changes) error
	MarkPartDone(ctx context.Context, id, purpose string, chunks int, now time.Time) (*dsr.Request, bool, error)
}

var seq atomic.Int64

func newRequest() *dsr.Request {
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	return &dsr.Request{
		ID: fmt.Sprintf("01JD%022d", seq.Add(1)), Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification,
		Email: "ada@example.com", TokenHash: "th", CodeHash: "ch", CodeExpiresAt: at.Add(15 * time.Minute),
		ReceivedAt: at, UpdatedAt: at, DueAt: at.AddDate(0, 1, 0),
	}
}

// Options tune the suite to the backend.
type Options struct {
	// Sequential runs the concurrency cases one call after another. For
	// moto: it does not serialize conditional writes to one item under
	// parallel requests (DynamoDB does), so ten parallel "attempts < 5"
	// increments can all pass there.
	Sequential bool
}

// Run runs the contract against the store newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) Store, o Options) {
	// parallel runs n calls of f, at once unless o.Sequential.
	parallel := func(n int, f func()) {
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			if o.Sequential {
				f()
				wg.Done()
				continue
			}
			go func() {
				defer wg.Done()
				f()
			}()
		}
		wg.Wait()
	}
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)

	t.Run("create and get round-trip", func(t *testing.T) {
		s := newStore(t)
		r := newRequest()
		r.Purposes, r.Scope, r.Grounds = []string{"billing"}, "", "because"
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("(-created +got):\n%s", diff)
		}
		if err := s.Create(ctx, r); dsr.ErrorCodeOf(err) != dsr.EConflict {
			t.Errorf("second create: %v, want conflict", err)
		}
	})

	t.Run("unknown id", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Get(ctx, "01JDNOPE"); dsr.ErrorCodeOf(err) != dsr.ENotFound {
			t.Errorf("get: %v", err)
		}
		if err := s.Transition(ctx, "01JDNOPE", dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{}); dsr.ErrorCodeOf(err) != dsr.EConflict {
			t.Errorf("transition: %v", err)
		}
	})

	t.Run("attempts: every parallel one counts, and no more than the limit", func(t *testing.T) {
		s := newStore(t)
		r := newRequest()
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		var used, refused atomic.Int32
		parallel(2*dsr.MaxCodeAttempts, func() {
			got, err := s.UseAttempt(ctx, r.ID, now)
			switch {
			case err == nil && got.CodeAttempts >= 1 && got.CodeAttempts <= dsr.MaxCodeAttempts:
				used.Add(1)
			case dsr.ErrorCodeOf(err) == dsr.EConflict:
				refused.Add(1)
			default:
				t.Errorf("use attempt: %+v %v", got, err)
			}
		})
		if used.Load() != dsr.MaxCodeAttempts || refused.Load() != dsr.MaxCodeAttempts {
			t.Errorf("%d attempts used, %d refused; want %d and %d", used.Load(), refused.Load(), dsr.MaxCodeAttempts, dsr.MaxCodeAttempts)
		}
		got, _ := s.Get(ctx, r.ID)
		if got.CodeAttempts != dsr.MaxCodeAttempts || !got.UpdatedAt.Equal(now) {
			t.Errorf("stored attempts %d", got.CodeAttempts)
		}
		other := newRequest()
		_ = s.Create(ctx, other)
		_ = s.Transition(ctx, other.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{})
		if _, err := s.UseAttempt(ctx, other.ID, now); dsr.ErrorCodeOf(err) != dsr.EConflict {
			t.Errorf("attempt on a verified request: %v", err)
		}
		if _, err := s.UseAttempt(ctx, "01JDNOPE", now); dsr.ErrorCodeOf(err) != dsr.EConflict {
			t.Errorf("attempt on an unknown request: %v", err)
		}
	})

	t.Run("transitions are conditional and set changes", func(t *testing.T) {
		s := newStore(t)
		r := newRequest()
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{}); dsr.ErrorCodeOf(err) != dsr.EConflict {
			t.Errorf("from the wrong status: %v", err)
		}
		if err := s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{VerifiedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: []string{"a", "b"}}); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Get(ctx, r.ID)
		want := *r
		want.Status, want.VerifiedAt, want.UpdatedAt = dsr.StatusInProgress, now, now
		want.PlannedPurposes, want.DoneParts = []string{"a", "b"}, map[string]int{}
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})

	t.Run("parts are recorded once, concurrently", func(t *testing.T) {
		s := newStore(t)
		r := newRequest()
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.MarkPartDone(ctx, r.ID, "a", 1, now); ok {
			t.Error("part recorded before the request is in progress")
		}
		_ = s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{})
		_ = s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: []string{"a", "b"}})
		var recorded atomic.Int32
		parallel(4, func() {
			if _, ok, err := s.MarkPartDone(ctx, r.ID, "a", 3, now); err != nil {
				t.Error(err)
			} else if ok {
				recorded.Add(1)
			}
		})
		if recorded.Load() != 1 {
			t.Errorf("part a recorded %d times", recorded.Load())
		}
		got, ok, err := s.MarkPartDone(ctx, r.ID, "b", 2, now.Add(time.Minute))
		if err != nil || !ok || !got.AllPartsDone() || got.DoneParts["a"] != 3 || got.DoneParts["b"] != 2 || !got.UpdatedAt.Equal(now.Add(time.Minute)) {
			t.Errorf("after last part: %+v %v %v", got, ok, err)
		}
		res := &dsr.Result{ReportJSONKey: "k.json", ReportHTMLKey: "k.html"}
		if err := s.Transition(ctx, r.ID, dsr.StatusInProgress, dsr.StatusCompleted, now, dsr.Changes{CompletedAt: now, Result: res}); err != nil {
			t.Fatal(err)
		}
		if err := s.Transition(ctx, r.ID, dsr.StatusInProgress, dsr.StatusCompleted, now, dsr.Changes{CompletedAt: now, Result: res}); dsr.ErrorCodeOf(err) != dsr.EConflict {
			t.Errorf("second completion: %v", err)
		}
		got, _ = s.Get(ctx, r.ID)
		if diff := cmp.Diff(res, got.Result); diff != "" || !got.CompletedAt.Equal(now) {
			t.Errorf("result (-want +got):\n%s", diff)
		}
	})
}

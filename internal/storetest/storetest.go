// Package storetest is the contract every request store fulfils: one suite,
// run against the in-memory fake and against the DynamoDB adapter on the
// emulator.
package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privacyops/dsr/internal/dsr"
)

// Store is what the suite exercises: the union of what the functions use.
type Store interface {
	Create(ctx context.Context, r *dsr.Request) error
	Get(ctx context.Context, id string) (*dsr.Request, error)
	UseAttempt(ctx context.Context, id string, now time.Time) (*dsr.Request, error)
	Transition(ctx context.Context, id string, from, to dsr.Status, now time.Time, ch dsr.Changes) error
	MarkPartDone(ctx context.Context, id, purpose string, chunks int, now time.Time) (*dsr.Request, bool, error)
	BySubject(ctx context.Context, subjectKey string) ([]*dsr.Request, error)
	List(ctx context.Context, q dsr.ListQuery) ([]*dsr.Request, string, error)
	SetDeadline(ctx context.Context, id string, prevMonths int, ext dsr.Extension) error
	SetDecision(ctx context.Context, id, purpose, from, to string, now time.Time) error
	SetWaiting(ctx context.Context, id, detail string, now time.Time) (bool, error)
	Unverified(ctx context.Context, before time.Time, cursor string) ([]string, string, error)
	ReceivedPage(ctx context.Context, status dsr.Status, from, before time.Time, cursor string) ([]string, string, error)
	OpenSubjects(ctx context.Context, now time.Time) (map[string]bool, error)
	StripIdentifiers(ctx context.Context, id string, now time.Time) error
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

// concurrently runs f(0) to f(n-1) at once, or one after another when
// o.Sequential, and waits for them.
func (o Options) concurrently(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		if o.Sequential {
			f(i)
			continue
		}
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// Run runs the contract against the store newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) Store, o Options) {
	parallel := func(n int, f func()) { o.concurrently(n, func(int) { f() }) }
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
		// The same request again is a retried create (its first answer lost):
		// it took effect, so it succeeds. Another request under the id (another
		// status token) is a conflict.
		if err := s.Create(ctx, r); err != nil {
			t.Errorf("the same create again: %v, want it to succeed", err)
		}
		other := *r
		other.TokenHash = "another token's hash"
		if err := s.Create(ctx, &other); dsr.ErrorCodeOf(err) != dsr.EConflict {
			t.Errorf("another request under the id: %v, want conflict", err)
		}
	})

	t.Run("a queued request records what it waits for, once; another is a conflict", func(t *testing.T) {
		s := newStore(t)
		r := newRequest()
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetWaiting(ctx, r.ID, "the backfill of billing", now); dsr.ErrorCodeOf(err) != dsr.EConflict {
			t.Errorf("awaiting verification: %v, want conflict", err)
		}
		if _, err := s.SetWaiting(ctx, "01JDNOPE", "the backfill of billing", now); dsr.ErrorCodeOf(err) != dsr.ENotFound {
			t.Errorf("unknown id: %v, want not found", err)
		}
		if err := s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{VerifiedAt: now}); err != nil {
			t.Fatal(err)
		}
		for i, want := range []bool{true, false, false} {
			changed, err := s.SetWaiting(ctx, r.ID, "the backfill of billing", now)
			if err != nil || changed != want {
				t.Fatalf("wait %d: changed %v (%v), want %v", i+1, changed, err, want)
			}
		}
		if changed, err := s.SetWaiting(ctx, r.ID, "the backfill of billing, marketing", now); err != nil || !changed {
			t.Errorf("another wait: changed %v (%v), want true", changed, err)
		}
		if got, err := s.Get(ctx, r.ID); err != nil || got.WaitingFor != "the backfill of billing, marketing" {
			t.Errorf("stored: %+v %v", got, err)
		}
		// Moving on ends the wait.
		if err := s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: []string{"billing"}}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, r.ID); err != nil || got.WaitingFor != "" {
			t.Errorf("in progress, still waiting for %q (%v)", got.WaitingFor, err)
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
		extended := now.AddDate(0, 3, 0)
		if err := s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: []string{"a", "b"}, DueAt: extended, ExtendedMonths: 2}); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Get(ctx, r.ID)
		want := *r
		want.Status, want.VerifiedAt, want.UpdatedAt = dsr.StatusInProgress, now, now
		want.PlannedPurposes, want.DoneParts = []string{"a", "b"}, map[string]int{}
		want.DueAt, want.ExtendedMonths = extended, 2
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

	t.Run("lists by status and due date, with filters and cursors; deadlines move conditionally", func(t *testing.T) {
		runList(t, newStore(t))
	})

	t.Run("unverified requests are found by receipt", func(t *testing.T) {
		s := newStore(t)
		// Received in 1990, so that no other case's request is older.
		old := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
		var want []string
		for i := range 3 {
			r := newRequest()
			r.ReceivedAt = old.Add(time.Duration(i) * time.Hour)
			if err := s.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
			if i < 2 {
				want = append(want, r.ID)
			}
		}
		verified := newRequest()
		verified.ReceivedAt = old
		_ = s.Create(ctx, verified)
		_ = s.Transition(ctx, verified.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{})
		var got []string
		for cursor, pages := "", 0; ; pages++ {
			ids, next, err := s.Unverified(ctx, old.Add(90*time.Minute), cursor)
			if err != nil || pages > 5 {
				t.Fatal(err, pages)
			}
			got = append(got, ids...)
			if next == "" {
				break
			}
			cursor = next
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("unverified before 01:30 (-want +got):\n%s", diff)
		}
	})

	t.Run("a completed objection keeps its decisions and recipients; requests are found by subject", func(t *testing.T) {
		s := newStore(t)
		key := fmt.Sprintf("%064d", seq.Add(1))
		obj := newRequest()
		obj.Type, obj.Purposes, obj.SubjectKey = dsr.TypeObjection, []string{"customer_care"}, key
		acc := newRequest()
		acc.SubjectKey = key
		other := newRequest()
		other.SubjectKey = fmt.Sprintf("%064d", seq.Add(1))
		for _, r := range []*dsr.Request{obj, acc, other} {
			if err := s.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		_ = s.Transition(ctx, obj.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{})
		_ = s.Transition(ctx, obj.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: []string{"customer_care"}})
		res := &dsr.Result{CertificateKey: "c.json", Recipients: []dsr.Recipient{{Recipient: "Example Print GmbH", Country: "DE", At: now}}}
		decisions := map[string]string{"customer_care": dsr.DecisionPending}
		if err := s.Transition(ctx, obj.ID, dsr.StatusInProgress, dsr.StatusCompleted, now, dsr.Changes{CompletedAt: now, Result: res, ObjectionDecisions: decisions}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, obj.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(res, got.Result); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(decisions, got.ObjectionDecisions); diff != "" || got.SubjectKey != key {
			t.Errorf("decisions (-want +got):\n%s; subject key %q", diff, got.SubjectKey)
		}
		if err := s.SetDecision(ctx, obj.ID, "customer_care", dsr.DecisionPending, dsr.Applying(dsr.DecisionUpheld), now); err != nil {
			t.Fatal(err)
		}
		if err := s.SetDecision(ctx, obj.ID, "customer_care", dsr.DecisionPending, dsr.Applying(dsr.DecisionOverridden), now); dsr.ErrorCodeOf(err) != dsr.EConflict {
			t.Errorf("a second decision: %v", err)
		}
		if got, _ := s.Get(ctx, obj.ID); got.ObjectionDecisions["customer_care"] != dsr.Applying(dsr.DecisionUpheld) {
			t.Errorf("decision: %v", got.ObjectionDecisions)
		}
		found, err := s.BySubject(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]dsr.Type{}
		for _, r := range found {
			ids[r.ID] = r.Type
		}
		if diff := cmp.Diff(map[string]dsr.Type{obj.ID: dsr.TypeObjection, acc.ID: dsr.TypeAccess}, ids); diff != "" {
			t.Errorf("by subject (-want +got):\n%s", diff)
		}
	})

	runRetention(t, newStore)
}

// runList is the list and deadline part of the contract. It uses only the
// statuses failed, rejected and expired, which no other case leaves behind,
// so it can share a table with them.
func runList(t *testing.T, s Store) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)
	type want struct {
		id string
		st dsr.Status
	}
	var made []want
	for i, tc := range []struct {
		st  dsr.Status
		typ dsr.Type
		due time.Time
	}{
		{dsr.StatusFailed, dsr.TypeAccess, now.AddDate(0, 0, 3)},
		{dsr.StatusFailed, dsr.TypeErasure, now.AddDate(0, 0, -2)},
		{dsr.StatusRejected, dsr.TypeAccess, now.AddDate(0, 0, 1)},
		{dsr.StatusFailed, dsr.TypeAccess, now.AddDate(0, 0, -5)},
		{dsr.StatusExpired, dsr.TypeObjection, now.AddDate(0, 0, 9)},
		{dsr.StatusRejected, dsr.TypeErasure, now.AddDate(0, 0, -1)},
	} {
		r := newRequest()
		r.Type, r.DueAt = tc.typ, tc.due
		if tc.typ == dsr.TypeObjection {
			r.Scope = dsr.ScopeDirectMarketing
		}
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		switch tc.st {
		case dsr.StatusFailed:
			_ = s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{})
			_ = s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusFailed, now, dsr.Changes{FailureReason: fmt.Sprint("case ", i)})
		default:
			_ = s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, tc.st, now, dsr.Changes{})
		}
		made = append(made, want{r.ID, tc.st})
	}
	ids := func(rs []*dsr.Request) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	// All three statuses, two at a time: statuses in query order, each by due date.
	q := dsr.ListQuery{Statuses: []dsr.Status{dsr.StatusFailed, dsr.StatusRejected, dsr.StatusExpired}, Limit: 2}
	var got []string
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("list paging does not end")
		}
		rs, cursor, err := s.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) > 2 {
			t.Fatalf("page of %d, limit 2", len(rs))
		}
		got = append(got, ids(rs)...)
		if cursor == "" {
			break
		}
		q.Cursor = cursor
	}
	order := []string{made[3].id, made[1].id, made[0].id, made[5].id, made[2].id, made[4].id}
	if diff := cmp.Diff(order, got); diff != "" {
		t.Errorf("list order (-want +got):\n%s", diff)
	}
	// Filters: type, and due before now (overdue).
	rs, cursor, err := s.List(ctx, dsr.ListQuery{Statuses: []dsr.Status{dsr.StatusFailed, dsr.StatusRejected}, Type: dsr.TypeErasure, DueBefore: now, Limit: 10})
	if err != nil || cursor != "" {
		t.Fatal(err, cursor)
	}
	if diff := cmp.Diff([]string{made[1].id, made[5].id}, ids(rs)); diff != "" {
		t.Errorf("erasures due before now (-want +got):\n%s", diff)
	}
	// A filter across pages: every match once, in order.
	got = nil
	q = dsr.ListQuery{Statuses: []dsr.Status{dsr.StatusFailed, dsr.StatusRejected}, Type: dsr.TypeAccess, Limit: 1}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("filtered paging does not end")
		}
		rs, cursor, err := s.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(rs)...)
		if cursor == "" {
			break
		}
		q.Cursor = cursor
	}
	if diff := cmp.Diff([]string{made[3].id, made[0].id, made[2].id}, got); diff != "" {
		t.Errorf("access requests, one a page (-want +got):\n%s", diff)
	}
	if _, _, err := s.List(ctx, dsr.ListQuery{Statuses: []dsr.Status{dsr.StatusFailed}, Cursor: "not-a-cursor", Limit: 10}); dsr.ErrorCodeOf(err) != dsr.EInvalid {
		t.Errorf("bad cursor: %v", err)
	}
	// Deadlines move only for open requests, from the extension the caller saw.
	id := made[0].id // failed: open
	due := now.AddDate(0, 2, 0)
	first := dsr.Extension{Months: 1, Reason: "four systems", By: "dpo-7", At: now, DueAt: now.AddDate(0, 1, 0)}
	if err := s.SetDeadline(ctx, made[2].id, 0, first); dsr.ErrorCodeOf(err) != dsr.EConflict {
		t.Errorf("set the deadline of a rejected request: %v", err)
	}
	if err := s.SetDeadline(ctx, id, 0, first); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDeadline(ctx, id, 0, first); dsr.ErrorCodeOf(err) != dsr.EConflict {
		t.Errorf("a second extension from 0 months: %v", err)
	}
	second := dsr.Extension{Months: 1, Reason: "an archive to restore", By: "dpo-8", At: now.Add(time.Hour), DueAt: due}
	if err := s.SetDeadline(ctx, id, 1, second); err != nil {
		t.Fatal(err)
	}
	r, _ := s.Get(ctx, id)
	if !r.DueAt.Equal(due) || r.ExtendedMonths != 2 || !r.UpdatedAt.Equal(second.At) {
		t.Errorf("after the extensions: due %s, %d months", r.DueAt, r.ExtendedMonths)
	}
	if diff := cmp.Diff([]dsr.Extension{first, second}, r.Extensions); diff != "" {
		t.Errorf("extension record (-want +got):\n%s", diff)
	}
}

// runRetention is the part of the contract the retention job uses: request
// ids by status and receipt, the subjects of open requests, and stripping a
// request's identifiers. Its requests are received in 1985 (before every
// other case's, in statuses the unverified case does not read), have subject
// keys of their own, and those in runList's statuses have no due date, so it
// can share a table with the other cases.
func runRetention(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)

	t.Run("request ids by status and receipt, in a window, oldest first, page by page", func(t *testing.T) {
		s := newStore(t)
		from := time.Date(1985, 6, 1, 0, 0, 0, 0, time.UTC)
		before := from.Add(2 * time.Hour)
		received := map[string]time.Time{}
		create := func(st dsr.Status, at time.Time) string {
			t.Helper()
			r := newRequest()
			// No due date: runList lists every failed, rejected and expired
			// request with one.
			r.Status, r.ReceivedAt, r.DueAt = st, at, time.Time{}
			if err := s.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
			received[r.ID] = at
			return r.ID
		}
		// More than a page, two at each receipt time (the index's sort key),
		// from the window's first millisecond to its last.
		var want []string
		for i := range dsr.MaxListLimit + 4 {
			want = append(want, create(dsr.StatusExpired, from.Add(time.Duration(i/2)*time.Second)))
		}
		want = append(want, create(dsr.StatusExpired, before.Add(-time.Millisecond)))
		early := create(dsr.StatusExpired, from.Add(-time.Millisecond))
		create(dsr.StatusExpired, before)
		create(dsr.StatusRejected, from.Add(time.Hour))
		pages := func(from, before time.Time) ([]string, int) {
			t.Helper()
			var got []string
			seen := map[string]bool{}
			cursor := ""
			for n := 1; ; n++ {
				if n > 10 {
					t.Fatal("received pages do not end")
				}
				ids, next, err := s.ReceivedPage(ctx, dsr.StatusExpired, from, before, cursor)
				if err != nil {
					t.Fatal(err)
				}
				if len(ids) > dsr.MaxListLimit {
					t.Errorf("page %d: %d ids, more than %d", n, len(ids), dsr.MaxListLimit)
				}
				for _, id := range ids {
					if seen[id] {
						t.Errorf("page %d: %s again", n, id)
					}
					seen[id] = true
				}
				got = append(got, ids...)
				if next == "" {
					return got, n
				}
				cursor = next
			}
		}
		got, n := pages(from, before)
		if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("expired, received in the window (-want +got):\n%s", diff)
		}
		if n < 2 {
			t.Errorf("%d ids in %d page", len(got), n)
		}
		for i := 1; i < len(got); i++ {
			if received[got[i]].Before(received[got[i-1]]) {
				t.Errorf("id %d (%s) received before id %d (%s)", i, received[got[i]], i-1, received[got[i-1]])
			}
		}
		// From time zero: no lower bound. No other case's request is this old.
		if got, _ := pages(time.Time{}, from); !cmp.Equal([]string{early}, got) {
			t.Errorf("expired, received before the window: %v, want %s", got, early)
		}
		if got, _ := pages(before.Add(time.Millisecond), before.Add(time.Hour)); len(got) != 0 {
			t.Errorf("expired, received after the window: %v", got)
		}
	})

	t.Run("the subjects of open requests", func(t *testing.T) {
		s := newStore(t)
		open, closed := map[string]bool{}, map[string]bool{}
		create := func(st dsr.Status, key string) *dsr.Request {
			t.Helper()
			r := newRequest()
			r.Status, r.SubjectKey, r.DueAt = st, key, time.Time{} // not in runList's lists
			if err := s.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
			return r
		}
		for _, st := range dsr.OpenStatuses {
			key := fmt.Sprintf("%064d", seq.Add(1))
			create(st, key)
			open[key] = true
		}
		for _, st := range []dsr.Status{dsr.StatusCompleted, dsr.StatusRejected, dsr.StatusExpired} {
			key := fmt.Sprintf("%064d", seq.Add(1))
			create(st, key)
			closed[key] = true
		}
		// A subject with a completed request and an open one.
		both := fmt.Sprintf("%064d", seq.Add(1))
		create(dsr.StatusCompleted, both)
		create(dsr.StatusQueued, both)
		open[both] = true
		// A request that was open and is answered.
		answered := create(dsr.StatusAwaitingVerification, fmt.Sprintf("%064d", seq.Add(1)))
		for _, step := range [][2]dsr.Status{
			{dsr.StatusAwaitingVerification, dsr.StatusQueued},
			{dsr.StatusQueued, dsr.StatusInProgress},
			{dsr.StatusInProgress, dsr.StatusCompleted},
		} {
			if err := s.Transition(ctx, answered.ID, step[0], step[1], now, dsr.Changes{}); err != nil {
				t.Fatal(err)
			}
		}
		closed[answered.SubjectKey] = true
		// A failed request holds its subject's provenance until its due date.
		late := create(dsr.StatusFailed, fmt.Sprintf("%064d", seq.Add(1)))
		closed[late.SubjectKey] = true
		inTime := create(dsr.StatusFailed, fmt.Sprintf("%064d", seq.Add(1)))
		open[inTime.SubjectKey] = true
		for id, due := range map[string]time.Time{late.ID: now.Add(-time.Hour), inTime.ID: now.Add(time.Hour)} {
			if err := s.SetDeadline(ctx, id, 0, dsr.Extension{Months: 1, Reason: "r", By: "dpo", At: now, DueAt: due}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.OpenSubjects(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		for key := range open {
			if !got[key] {
				t.Errorf("subject %s… of an open request is missing", key[56:])
			}
		}
		for key := range closed {
			if got[key] {
				t.Errorf("subject %s… has no open request", key[56:])
			}
		}
		if got[""] {
			t.Error("requests without a subject key give the subject \"\"")
		}
	})

	t.Run("identifiers are stripped once; the rest stays", func(t *testing.T) {
		s := newStore(t)
		key := fmt.Sprintf("%064d", seq.Add(1))
		r := newRequest()
		r.Type, r.Status, r.SubjectKey = dsr.TypeObjection, dsr.StatusCompleted, key
		r.Purposes, r.Grounds = []string{"customer_care"}, "I moved away"
		r.VerifiedAt, r.CompletedAt = r.ReceivedAt.Add(time.Hour), r.ReceivedAt.Add(2*time.Hour)
		r.PlannedPurposes, r.DoneParts = []string{"customer_care"}, map[string]int{"customer_care": 1}
		r.ObjectionDecisions = map[string]string{"customer_care": dsr.DecisionUpheld}
		r.Result = &dsr.Result{CertificateKey: "c.json"}
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		before, err := s.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		at := now.Add(123 * time.Millisecond)
		if err := s.StripIdentifiers(ctx, r.ID, at); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *before
		want.Email, want.SubjectKey, want.Grounds, want.CodeHash, want.TokenHash = "", "", "", "", ""
		want.IdentifiersRemovedAt, want.UpdatedAt = at, at
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("stripped (-want +got):\n%s", diff)
		}
		if err := s.StripIdentifiers(ctx, r.ID, at.Add(time.Hour)); dsr.ErrorCodeOf(err) != dsr.EConflict {
			t.Errorf("a second strip: %v", err)
		}
		if got, _ := s.Get(ctx, r.ID); got == nil || !got.IdentifiersRemovedAt.Equal(at) {
			t.Errorf("a second strip changed the request: %+v", got)
		}
		if err := s.StripIdentifiers(ctx, "01JDNOPE", at); dsr.ErrorCodeOf(err) != dsr.EConflict {
			t.Errorf("strip an unknown request: %v", err)
		}
		if found, err := s.BySubject(ctx, key); err != nil || len(found) != 0 {
			t.Errorf("found by its former subject key: %d, %v", len(found), err)
		}
	})
}

// SuppressionStore is the suppression list's contract.
type SuppressionStore interface {
	Add(ctx context.Context, entries []dsr.Suppression) error
	Entries(ctx context.Context, subjectKey string) ([]dsr.Suppression, error)
	Remove(ctx context.Context, subjectKey, scope, requestID string) error
	Canary(ctx context.Context, value string) (string, error)
}

// RunSuppressions runs the suppression list's contract against the store
// newStore returns, a list never used before.
func RunSuppressions(t *testing.T, newStore func(t *testing.T) SuppressionStore) {
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)
	s := newStore(t)
	// The first pepper's canary stays: a later one is told the first.
	for _, try := range []string{"pepper one", "pepper two", "pepper one"} {
		if got, err := s.Canary(ctx, try); err != nil || got != "pepper one" {
			t.Errorf("Canary(%q) = %q, %v; want the first, %q", try, got, err, "pepper one")
		}
	}
	key, other := fmt.Sprintf("%064d", seq.Add(1)), fmt.Sprintf("%064d", seq.Add(1))
	objection := []dsr.Suppression{
		{SubjectKey: key, Scope: "marketing", Reason: dsr.SuppressedByObjection, Since: at, RequestID: "R1"},
		{SubjectKey: key, Scope: "newsletter", Reason: dsr.SuppressedByObjection, Since: at, RequestID: "R1"},
	}
	if err := s.Add(ctx, objection); err != nil {
		t.Fatal(err)
	}
	// Adding again (a redelivered task) and later entries keep the first.
	later := at.Add(time.Hour)
	if err := s.Add(ctx, []dsr.Suppression{
		{SubjectKey: key, Scope: "marketing", Reason: dsr.SuppressedByErasure, Since: later, RequestID: "R2"},
		{SubjectKey: key, Scope: dsr.ScopeAll, Reason: dsr.SuppressedByErasure, Since: later, RequestID: "R2"},
		{SubjectKey: other, Scope: "billing", Reason: dsr.SuppressedByObjection, Since: at, RequestID: "R3"},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Entries(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	want := append(objection, dsr.Suppression{SubjectKey: key, Scope: dsr.ScopeAll, Reason: dsr.SuppressedByErasure, Since: later, RequestID: "R2"})
	sortEntries := cmpopts.SortSlices(func(a, b dsr.Suppression) bool { return a.Scope < b.Scope })
	if diff := cmp.Diff(want, got, sortEntries); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if got, err := s.Entries(ctx, fmt.Sprintf("%064d", seq.Add(1))); err != nil || len(got) != 0 {
		t.Errorf("unknown subject: %v %v", got, err)
	}
	if err := s.Add(ctx, []dsr.Suppression{{Scope: "marketing"}}); err == nil {
		t.Error("an entry without subject key was added")
	}
	// An overridden objection removes its own entry, never another request's.
	if err := s.Remove(ctx, key, "marketing", "R1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, key, dsr.ScopeAll, "R1"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Entries(ctx, key)
	if diff := cmp.Diff(want[1:], got, sortEntries); diff != "" {
		t.Errorf("after removals (-want +got):\n%s", diff)
	}
}

// AuditStore is the audit trail's contract.
type AuditStore interface {
	Append(ctx context.Context, s dsr.Step) error
	AppendOnce(ctx context.Context, s dsr.Step) error
	Entries(ctx context.Context, id string) ([]dsr.AuditEntry, error)
	Walk(ctx context.Context, id string, each func([]dsr.AuditEntry) error) error
	Page(ctx context.Context, id string, before, limit int) ([]dsr.AuditEntry, bool, error)
}

// RunAudit runs the audit trail's contract: entries come back oldest first as
// written, and concurrent appends to one request each get their own place in
// one intact chain (run one after another where the backend does not
// serialize conditional writes, as Options.Sequential says).
func RunAudit(t *testing.T, newStore func(t *testing.T) AuditStore, o Options) {
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 11, 0, 0, 123456789, time.UTC)
	s := newStore(t)
	id := fmt.Sprintf("01JA%022d", seq.Add(1))
	if got, err := s.Entries(ctx, id); err != nil || len(got) != 0 {
		t.Fatalf("empty trail: %v %v", got, err)
	}
	steps := []dsr.AuditAction{dsr.AuditReceived, dsr.AuditVerified, dsr.AuditDispatched}
	for i, action := range steps {
		if err := s.Append(ctx, dsr.Step{RequestID: id, Actor: dsr.ActorSubject, Action: action, Detail: fmt.Sprint("step ", i), At: at.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	o.concurrently(6, func(i int) {
		if err := s.Append(ctx, dsr.Step{RequestID: id, Actor: dsr.SystemActor("worker"), Action: dsr.AuditPurposeDone, Detail: fmt.Sprint("purpose p", i), At: at.Add(time.Minute)}); err != nil {
			t.Error(err)
		}
	})
	got, err := s.Entries(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 9 {
		t.Fatalf("%d entries, want 9", len(got))
	}
	for i, action := range steps {
		if got[i].Action != action || got[i].Detail != fmt.Sprint("step ", i) || !got[i].At.Equal(at.Add(time.Duration(i)*time.Second)) {
			t.Errorf("entry %d: %+v", i+1, got[i])
		}
	}
	if c := dsr.VerifyAuditChain(id, got); !c.Intact {
		t.Errorf("chain: %+v", c)
	}
	runAuditPages(t, s, id, got)
	runAppendOnce(t, s, o)
}

// runAppendOnce: a step repeated by retries, even racing ones, is recorded
// once while it is the last; after another step it is recorded again.
func runAppendOnce(t *testing.T, s AuditStore, o Options) {
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	id := fmt.Sprintf("01JA%022d", seq.Add(1))
	wait := func(detail string) {
		o.concurrently(4, func(int) {
			if err := s.AppendOnce(ctx, dsr.Step{RequestID: id, Actor: dsr.SystemActor("dispatch"), Action: dsr.AuditWaiting, Detail: detail, At: at}); err != nil {
				t.Error(err)
			}
		})
	}
	wait("the backfill of billing")
	wait("the backfill of billing")
	wait("the backfill of billing, marketing")
	if err := s.Append(ctx, dsr.Step{RequestID: id, Actor: dsr.SystemActor("dispatch"), Action: dsr.AuditDispatched, Detail: "purposes: billing", At: at}); err != nil {
		t.Fatal(err)
	}
	wait("the backfill of billing, marketing")
	got, err := s.Entries(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, e := range got {
		details = append(details, string(e.Action)+": "+e.Detail)
	}
	want := []string{"waiting: the backfill of billing", "waiting: the backfill of billing, marketing",
		"dispatched: purposes: billing", "waiting: the backfill of billing, marketing"}
	if !slices.Equal(details, want) {
		t.Errorf("trail %q, want %q", details, want)
	}
	if c := dsr.VerifyAuditChain(id, got); !c.Intact {
		t.Errorf("chain: %+v", c)
	}
}

// runAuditPages checks that a trail read newest page first, and walked
// oldest first, is the trail.
func runAuditPages(t *testing.T, s AuditStore, id string, all []dsr.AuditEntry) {
	ctx := context.Background()
	seqs := func(es []dsr.AuditEntry) []int {
		out := []int{}
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	type page struct {
		Seqs []int
		More bool
	}
	var pages []page
	for before := 0; ; {
		es, more, err := s.Page(ctx, id, before, 4)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page{seqs(es), more})
		if !more {
			break
		}
		before = es[0].Seq
	}
	want := []page{{[]int{6, 7, 8, 9}, true}, {[]int{2, 3, 4, 5}, true}, {[]int{1}, false}}
	if diff := cmp.Diff(want, pages); diff != "" {
		t.Errorf("pages, newest first (-want +got):\n%s", diff)
	}
	if es, more, err := s.Page(ctx, id, 0, 9); err != nil || more || len(es) != 9 {
		t.Errorf("one page of the whole trail: %d entries, more %v, %v", len(es), more, err)
	}
	var walked []dsr.AuditEntry
	if err := s.Walk(ctx, id, func(p []dsr.AuditEntry) error { walked = append(walked, p...); return nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all, walked); diff != "" {
		t.Errorf("walked (-want +got):\n%s", diff)
	}
	if es, more, err := s.Page(ctx, "01JA"+fmt.Sprintf("%022d", seq.Add(1)), 0, 4); err != nil || more || len(es) != 0 {
		t.Errorf("a request without a trail: %v %v %v", es, more, err)
	}
}

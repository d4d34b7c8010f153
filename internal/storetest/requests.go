package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// Store is what the suite exercises: the union of what the functions use.
type Store interface {
	Create(ctx context.Context, r *dsr.Request, steps ...dsr.Step) error
	Get(ctx context.Context, id string) (*dsr.Request, error)
	UseAttempt(ctx context.Context, id, attempt string, now time.Time) (*dsr.Request, error)
	Transition(ctx context.Context, id string, from, to dsr.Status, now time.Time, ch dsr.Changes, steps ...dsr.Step) error
	MarkPartDone(ctx context.Context, id, purpose string, chunks int, now time.Time, steps ...dsr.Step) (*dsr.Request, bool, error)
	BySubject(ctx context.Context, subjectKey string) ([]*dsr.Request, error)
	List(ctx context.Context, q dsr.ListQuery) ([]*dsr.Request, string, error)
	SetDeadline(ctx context.Context, id string, prevMonths int, ext dsr.Extension, steps ...dsr.Step) error
	SetDecision(ctx context.Context, id, purpose, from, to string, now time.Time, steps ...dsr.Step) error
	SetWaiting(ctx context.Context, id, detail string, now time.Time, steps ...dsr.Step) (bool, error)
	Unverified(ctx context.Context, before time.Time, cursor string) ([]string, string, error)
	ReceivedPage(ctx context.Context, status dsr.Status, from, before time.Time, cursor string) ([]string, string, error)
	OpenSubjects(ctx context.Context, now time.Time) (map[string]bool, error)
	StripIdentifiers(ctx context.Context, id string, now time.Time, steps ...dsr.Step) error
	RecordRestriction(ctx context.Context, id, token string, now time.Time, steps ...dsr.Step) error
	ForgetAddress(ctx context.Context, id string, now time.Time, steps ...dsr.Step) error
	DuePage(ctx context.Context, status dsr.Status, from, before time.Time, cursor string) ([]string, string, error)
}

// requestCase is one case of Run.
type requestCase struct {
	name string
	run  func(t *testing.T, s Store, o Options)
}

// Run runs the request store's contract against the store newStore returns.
// The cases that touch only requests of their own run first, in parallel
// (each calls t.Parallel), and are done before the cases that read across
// requests run, one after another: on DynamoDB those see every request the
// cases before them made, as when all ran in turn, and must list none that
// is not theirs.
func Run(t *testing.T, newStore func(t *testing.T) Store, o Options) {
	run := func(t *testing.T, cases []requestCase) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t), o) })
		}
	}
	t.Run("OwnRequests", func(t *testing.T) {
		run(t, []requestCase{
			{"CreateThenGet", createThenGet},
			{"RestrictionKeepsItsGroundAndHeldPurposes", restrictionKeepsItsGroundAndHeldPurposes},
			{"CreateAgainSucceedsAnotherConflicts", createAgainSucceedsAnotherConflicts},
			{"WaitingRecordedOnceWhileQueued", waitingRecordedOnceWhileQueued},
			{"UnknownID", unknownID},
			{"AttemptsCountedUpToTheLimit", attemptsCountedUpToTheLimit},
			{"AttemptsOnlyWhileAwaitingVerification", attemptsOnlyWhileAwaitingVerification},
			{"AttemptCountedOnce", attemptCountedOnce},
			{"TransitionFromTheStatusSetsChanges", transitionFromTheStatusSetsChanges},
			{"PartsRecordedOnceThenCompletedOnce", partsRecordedOnceThenCompletedOnce},
			{"ObjectionKeepsDecisionsFoundBySubject", objectionKeepsDecisionsFoundBySubject},
			{"RestrictionEndedRecordedOnceOnAFinalRequest", restrictionEndedRecordedOnceOnAFinalRequest},
			{"IdentifiersStrippedOnce", identifiersStrippedOnce},
			{"AddressRemovedWithTheFinalStep", addressRemovedWithTheFinalStep},
			{"AddressKeptUntilTheLastDecision", addressKeptUntilTheLastDecision},
			{"MaskedFormKeptFromCreate", maskedFormKeptFromCreate},
			{"RectificationDecidedOnceInProgress", rectificationDecidedOnceInProgress},
			{"PortabilityKeepsItsEndpointAndTransmission", portabilityKeepsItsEndpointAndTransmission},
			{"RectificationTextsStrippedWithIdentifiers", rectificationTextsStrippedWithIdentifiers},
		})
	})
	run(t, []requestCase{
		{"List", list},
		{"UnverifiedFoundByReceipt", unverifiedFoundByReceipt},
		{"ReceivedPageInWindowOldestFirst", receivedPageInWindowOldestFirst},
		{"OpenSubjects", openSubjects},
		{"DuePageInWindowEarliestFirst", duePageInWindowEarliestFirst},
		// After List: its failed requests are due.
		{"AddressOfFailedForgottenAfterDue", addressOfFailedForgottenAfterDue},
	})
}

// requestsNow is the suite's present: newRequest's requests were received
// an hour before.
var requestsNow = time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)

// unknownRequest is an id no case creates.
const unknownRequest = "01JDNOPE"

func newRequest() *dsr.Request {
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	return &dsr.Request{
		ID: fmt.Sprintf("01JD%022d", seq.Add(1)), Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification,
		Email: "ada@example.com", MaskedEmail: "a***@e***.com", TokenHash: "th", CodeHash: "ch", CodeExpiresAt: at.Add(15 * time.Minute),
		ReceivedAt: at, UpdatedAt: at, DueAt: at.AddDate(0, 1, 0),
	}
}

// subjectKey is a subject key of the case's own.
func subjectKey() string { return fmt.Sprintf("%064d", seq.Add(1)) }

// mustGet reads request id, stopping the case if it cannot.
func mustGet(t *testing.T, s Store, id string) *dsr.Request {
	t.Helper()
	r, err := s.Get(t.Context(), id)
	must(t, err)
	return r
}

// createThenGet: a created request reads back as it was created, with
// the language it is answered in.
func createThenGet(t *testing.T, s Store, _ Options) {
	t.Parallel()
	r := newRequest()
	r.Purposes, r.Scope, r.Grounds, r.Language = []string{"billing"}, "", "because", dsr.LangDE
	must(t, s.Create(t.Context(), r, aStep))
	wantDiff(t, "get after create", r, mustGet(t, s, r.ID), ignoreTrail)
}

// restrictionKeepsItsGroundAndHeldPurposes: a restriction request reads
// back with its ground; answered, it keeps its address while a purpose is
// restricted or being lifted, and loses it with the last lifting.
func restrictionKeepsItsGroundAndHeldPurposes(t *testing.T, s Store, _ Options) {
	t.Parallel()
	ctx, now := t.Context(), requestsNow
	r := newRequest()
	r.Type, r.Ground, r.Grounds, r.Status = dsr.TypeRestriction, dsr.GroundAccuracyContested, "my address is wrong", dsr.StatusInProgress
	r.PlannedPurposes, r.DoneParts = []string{"billing"}, map[string]int{"billing": 1}
	must(t, s.Create(ctx, r, aStep))
	wantDiff(t, "get after create", r, mustGet(t, s, r.ID), ignoreTrail)
	must(t, s.Transition(ctx, r.ID, dsr.StatusInProgress, dsr.StatusCompleted, now, dsr.Changes{CompletedAt: now, ObjectionDecisions: dsr.HeldRestrictions(r)}, aStep))
	lifting := dsr.Applying(dsr.DecisionLifted)
	must(t, s.SetDecision(ctx, r.ID, "billing", dsr.RestrictionHeld, lifting, now, aStep))
	if got := mustGet(t, s, r.ID); got.Email == "" || got.Ground != dsr.GroundAccuracyContested || got.ObjectionDecisions["billing"] != lifting {
		t.Errorf("while lifting: address kept %v, ground %q, state %q", got.Email != "", got.Ground, got.ObjectionDecisions["billing"])
	}
	must(t, s.SetDecision(ctx, r.ID, "billing", lifting, dsr.DecisionLifted, now, aStep))
	if got := mustGet(t, s, r.ID); got.Email != "" || got.ObjectionDecisions["billing"] != dsr.DecisionLifted {
		t.Errorf("lifted: address kept %v, state %q", got.Email != "", got.ObjectionDecisions["billing"])
	}
}

// createAgainSucceedsAnotherConflicts: the same request again is a retried create (its first answer lost) and succeeds; another request under the id (another status token) is a conflict.
func createAgainSucceedsAnotherConflicts(t *testing.T, s Store, _ Options) {
	t.Parallel()
	ctx := t.Context()
	r := newRequest()
	r.Purposes, r.Scope, r.Grounds = []string{"billing"}, "", "because"
	must(t, s.Create(ctx, r, aStep))
	wantCode(t, "the same create again", s.Create(ctx, r, aStep), noError)
	other := *r
	other.TokenHash = "another token's hash"
	wantCode(t, "another request under the id", s.Create(ctx, &other, aStep), dsr.EConflict)
}

// waitingRecordedOnceWhileQueued: only a queued request records what it waits for, once for each change of it; moving on ends the wait.
func waitingRecordedOnceWhileQueued(t *testing.T, s Store, _ Options) {
	t.Parallel()
	ctx, now := t.Context(), requestsNow
	r := newRequest()
	must(t, s.Create(ctx, r, aStep))
	_, err := s.SetWaiting(ctx, r.ID, "the backfill of billing", now, aStep)
	wantCode(t, "awaiting verification", err, dsr.EConflict)
	_, err = s.SetWaiting(ctx, unknownRequest, "the backfill of billing", now, aStep)
	wantCode(t, "unknown id", err, dsr.ENotFound)
	must(t, s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{VerifiedAt: now}, aStep))
	var changed []bool
	for _, detail := range []string{"the backfill of billing", "the backfill of billing", "the backfill of billing", "the backfill of billing, marketing"} {
		c, err := s.SetWaiting(ctx, r.ID, detail, now, aStep)
		must(t, err)
		changed = append(changed, c)
	}
	wantDiff(t, "changed, wait by wait", []bool{true, false, false, true}, changed)
	wantDiff(t, "stored wait", "the backfill of billing, marketing", mustGet(t, s, r.ID).WaitingFor)
	must(t, s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: []string{"billing"}}, aStep))
	wantDiff(t, "wait in progress", "", mustGet(t, s, r.ID).WaitingFor)
}

// unknownID: an unknown request is not found, and does not move.
func unknownID(t *testing.T, s Store, _ Options) {
	t.Parallel()
	ctx := t.Context()
	_, err := s.Get(ctx, unknownRequest)
	wantCode(t, "get", err, dsr.ENotFound)
	err = s.Transition(ctx, unknownRequest, dsr.StatusQueued, dsr.StatusInProgress, requestsNow, dsr.Changes{}, aStep)
	wantCode(t, "transition", err, dsr.EConflict)
}

// attemptsCountedUpToTheLimit: every attempt counts, parallel ones too, and no more than dsr.MaxCodeAttempts are used.
func attemptsCountedUpToTheLimit(t *testing.T, s Store, o Options) {
	t.Parallel()
	ctx, now := t.Context(), requestsNow
	r := newRequest()
	must(t, s.Create(ctx, r, aStep))
	var used, refused atomic.Int32
	o.concurrently(2*dsr.MaxCodeAttempts, func(i int) {
		got, err := s.UseAttempt(ctx, r.ID, fmt.Sprint("attempt-", i), now)
		switch {
		case err == nil && got.CodeAttempts >= 1 && got.CodeAttempts <= dsr.MaxCodeAttempts:
			used.Add(1)
		case dsr.ErrorCodeOf(err) == dsr.EConflict:
			refused.Add(1)
		default:
			t.Errorf("use attempt: %+v %v", got, err)
		}
	})
	type counts struct{ Used, Refused int32 }
	wantDiff(t, "attempts", counts{dsr.MaxCodeAttempts, dsr.MaxCodeAttempts}, counts{used.Load(), refused.Load()})
	type stored struct {
		Attempts  int
		UpdatedAt time.Time
	}
	got := mustGet(t, s, r.ID)
	wantDiff(t, "stored", stored{dsr.MaxCodeAttempts, now}, stored{got.CodeAttempts, got.UpdatedAt})
}

// attemptsOnlyWhileAwaitingVerification: a verified or unknown request has no attempt to use.
func attemptsOnlyWhileAwaitingVerification(t *testing.T, s Store, _ Options) {
	t.Parallel()
	ctx, now := t.Context(), requestsNow
	r := newRequest()
	must(t, s.Create(ctx, r, aStep))
	must(t, s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{}, aStep))
	_, err := s.UseAttempt(ctx, r.ID, "a1", now)
	wantCode(t, "attempt on a verified request", err, dsr.EConflict)
	_, err = s.UseAttempt(ctx, unknownRequest, "a1", now)
	wantCode(t, "attempt on an unknown request", err, dsr.EConflict)
}

// attemptCountedOnce: the same attempt counted again (a retry of the call)
// is counted once, and answered as counted; another attempt counts.
func attemptCountedOnce(t *testing.T, s Store, _ Options) {
	t.Parallel()
	ctx, now := t.Context(), requestsNow
	r := newRequest()
	must(t, s.Create(ctx, r, aStep))
	var counts []int
	for _, attempt := range []string{"a1", "a1", "a2"} {
		got, err := s.UseAttempt(ctx, r.ID, attempt, now)
		must(t, err)
		counts = append(counts, got.CodeAttempts)
	}
	wantDiff(t, "attempts after a1, a1 again, a2", []int{1, 1, 2}, counts)
	wantDiff(t, "stored", 2, mustGet(t, s, r.ID).CodeAttempts)
}

// transitionFromTheStatusSetsChanges: a transition takes effect only from the status it names, and stores its changes.
func transitionFromTheStatusSetsChanges(t *testing.T, s Store, _ Options) {
	t.Parallel()
	ctx, now := t.Context(), requestsNow
	r := newRequest()
	must(t, s.Create(ctx, r, aStep))
	err := s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{}, aStep)
	wantCode(t, "from the wrong status", err, dsr.EConflict)
	must(t, s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{VerifiedAt: now}, aStep))
	extended := now.AddDate(0, 3, 0)
	ch := dsr.Changes{PlannedPurposes: []string{"a", "b"}, DueAt: extended, ExtendedMonths: 2}
	must(t, s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, ch, aStep))
	want := *r
	want.Status, want.VerifiedAt, want.UpdatedAt = dsr.StatusInProgress, now, now
	want.PlannedPurposes, want.DoneParts = []string{"a", "b"}, map[string]int{}
	want.DueAt, want.ExtendedMonths = extended, 2
	wantDiff(t, "after the transitions", &want, mustGet(t, s, r.ID), ignoreTrail)
}

// partsRecordedOnceThenCompletedOnce: a part is recorded once, by one of concurrent calls, and only while in progress; the request then completes once, with its result.
func partsRecordedOnceThenCompletedOnce(t *testing.T, s Store, o Options) {
	t.Parallel()
	ctx, now := t.Context(), requestsNow
	r := newRequest()
	must(t, s.Create(ctx, r, aStep))
	_, early, _ := s.MarkPartDone(ctx, r.ID, "a", 1, now, aStep)
	wantDiff(t, "part recorded before the request is in progress", false, early)
	must(t, s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{}, aStep))
	must(t, s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: []string{"a", "b"}}, aStep))
	var recorded atomic.Int32
	o.concurrently(4, func(int) {
		if _, ok, err := s.MarkPartDone(ctx, r.ID, "a", 3, now, aStep); err != nil {
			t.Error(err)
		} else if ok {
			recorded.Add(1)
		}
	})
	wantDiff(t, "times part a was recorded", int32(1), recorded.Load())
	got, ok, err := s.MarkPartDone(ctx, r.ID, "b", 2, now.Add(time.Minute), aStep)
	must(t, err)
	if got == nil {
		t.Fatalf("after the last part: no request (recorded %v)", ok)
	}
	type parts struct {
		Recorded, AllDone bool
		Done              map[string]int
		UpdatedAt         time.Time
	}
	wantDiff(t, "after the last part", parts{true, true, map[string]int{"a": 3, "b": 2}, now.Add(time.Minute)},
		parts{ok, got.AllPartsDone(), got.DoneParts, got.UpdatedAt})
	complete := dsr.Changes{CompletedAt: now, Result: &dsr.Result{ReportJSONKey: "k.json", ReportHTMLKey: "k.html"}}
	must(t, s.Transition(ctx, r.ID, dsr.StatusInProgress, dsr.StatusCompleted, now, complete, aStep))
	err = s.Transition(ctx, r.ID, dsr.StatusInProgress, dsr.StatusCompleted, now, complete, aStep)
	wantCode(t, "second completion", err, dsr.EConflict)
	done := mustGet(t, s, r.ID)
	wantDiff(t, "result", complete.Result, done.Result)
	wantDiff(t, "completed at", now, done.CompletedAt)
}

// unverifiedFoundByReceipt: the requests awaiting verification received before a time are found, every page.
func unverifiedFoundByReceipt(t *testing.T, s Store, _ Options) {
	ctx, now := t.Context(), requestsNow
	// Received in 1990, so that no other case's request is older.
	old := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	for i := range 3 {
		r := newRequest()
		r.ReceivedAt = old.Add(time.Duration(i) * time.Hour)
		must(t, s.Create(ctx, r, aStep))
		if i < 2 {
			want = append(want, r.ID)
		}
	}
	verified := newRequest()
	verified.ReceivedAt = old
	must(t, s.Create(ctx, verified, aStep))
	must(t, s.Transition(ctx, verified.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{}, aStep))
	var got []string
	for cursor, pages := "", 0; ; pages++ {
		if pages > 5 {
			t.Fatal("unverified pages do not end")
		}
		ids, next, err := s.Unverified(ctx, old.Add(90*time.Minute), cursor)
		must(t, err)
		got = append(got, ids...)
		if next == "" {
			break
		}
		cursor = next
	}
	wantDiff(t, "unverified before 01:30", want, got)
}

// objectionKeepsDecisionsFoundBySubject: a completed objection keeps its result, recipients and decisions; a decision moves once from the one seen; the subject's requests are found by its key.
func objectionKeepsDecisionsFoundBySubject(t *testing.T, s Store, _ Options) {
	t.Parallel()
	ctx, now := t.Context(), requestsNow
	key := subjectKey()
	obj, acc, other := newRequest(), newRequest(), newRequest()
	obj.Type, obj.Purposes, obj.SubjectKey = dsr.TypeObjection, []string{"customer_care"}, key
	acc.SubjectKey, other.SubjectKey = key, subjectKey()
	for _, r := range []*dsr.Request{obj, acc, other} {
		must(t, s.Create(ctx, r, aStep))
	}
	must(t, s.Transition(ctx, obj.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{}, aStep))
	must(t, s.Transition(ctx, obj.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: []string{"customer_care"}}, aStep))
	res := &dsr.Result{CertificateKey: "c.json", Recipients: []dsr.Recipient{{Recipient: "Example Print GmbH", Country: "DE", At: now}}}
	decisions := map[string]string{"customer_care": dsr.DecisionPending}
	must(t, s.Transition(ctx, obj.ID, dsr.StatusInProgress, dsr.StatusCompleted, now, dsr.Changes{CompletedAt: now, Result: res, ObjectionDecisions: decisions}, aStep))
	got := mustGet(t, s, obj.ID)
	wantDiff(t, "result", res, got.Result)
	wantDiff(t, "decisions", decisions, got.ObjectionDecisions)
	wantDiff(t, "subject key", key, got.SubjectKey)
	must(t, s.SetDecision(ctx, obj.ID, "customer_care", dsr.DecisionPending, dsr.Applying(dsr.DecisionUpheld), now, aStep))
	err := s.SetDecision(ctx, obj.ID, "customer_care", dsr.DecisionPending, dsr.Applying(dsr.DecisionOverridden), now, aStep)
	wantCode(t, "a second decision", err, dsr.EConflict)
	wantDiff(t, "decision", dsr.Applying(dsr.DecisionUpheld), mustGet(t, s, obj.ID).ObjectionDecisions["customer_care"])
	found, err := s.BySubject(ctx, key)
	must(t, err)
	types := map[string]dsr.Type{}
	for _, r := range found {
		types[r.ID] = r.Type
	}
	wantDiff(t, "by subject", map[string]dsr.Type{obj.ID: dsr.TypeObjection, acc.ID: dsr.TypeAccess}, types)
}

// restrictionEndedRecordedOnceOnAFinalRequest: the end of an erasure's
// restriction is recorded on the erasure, completed and stripped of its
// identifiers by then, once per token: again is EConflict and adds no step.
func restrictionEndedRecordedOnceOnAFinalRequest(t *testing.T, s Store, _ Options) {
	t.Parallel()
	ctx, now := t.Context(), requestsNow
	r := newRequest()
	r.Type = dsr.TypeErasure
	must(t, s.Create(ctx, r, aStep))
	must(t, s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{}, aStep))
	must(t, s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: []string{"billing"}}, aStep))
	must(t, s.Transition(ctx, r.ID, dsr.StatusInProgress, dsr.StatusCompleted, now, dsr.Changes{CompletedAt: now}, aStep))
	must(t, s.StripIdentifiers(ctx, r.ID, now, aStep))
	head := mustGet(t, s, r.ID).Trail
	later := now.AddDate(8, 0, 0)
	token := dsr.RestrictionEndedToken("billing", time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC))
	must(t, s.RecordRestriction(ctx, r.ID, token, later, dsr.RestrictionEndedStep("billing", time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC), 1, later)))
	got := mustGet(t, s, r.ID)
	wantDiff(t, "restrictions ended", []string{token}, got.RestrictionSteps)
	if got.Trail.Seq != head.Seq+1 || got.Status != dsr.StatusCompleted {
		t.Errorf("trail head %d after %d, status %s: want one step more on the completed request", got.Trail.Seq, head.Seq, got.Status)
	}
	wantCode(t, "the same end again", s.RecordRestriction(ctx, r.ID, token, later, aStep), dsr.EConflict)
	if again := mustGet(t, s, r.ID); again.Trail != got.Trail {
		t.Errorf("a second record moved the trail: %+v, was %+v", again.Trail, got.Trail)
	}
	other := dsr.RestrictionEndedToken("billing", time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC))
	must(t, s.RecordRestriction(ctx, r.ID, other, later, aStep))
	wantDiff(t, "restrictions ended", []string{token, other}, mustGet(t, s, r.ID).RestrictionSteps)
	wantCode(t, "an unknown request", s.RecordRestriction(ctx, "01UNKNOWN0000000000000000X", token, later, aStep), dsr.EConflict)
}

// addressRemovedWithTheFinalStep: the step that makes a request final
// (completed, rejected, expired) removes its plain address in the same
// change, keeping the subject key and the masked form (Art. 5(1)(c), (e));
// a failed request, which the DPO may still retry, keeps it.
func addressRemovedWithTheFinalStep(t *testing.T, s Store, _ Options) {
	t.Parallel()
	ctx, now := t.Context(), requestsNow
	type address struct {
		Email, Masked, SubjectKey string
		RemovedAt                 time.Time
	}
	for _, tc := range []struct {
		name string
		path []dsr.Status
		kept bool
	}{
		{"completed", []dsr.Status{dsr.StatusQueued, dsr.StatusInProgress, dsr.StatusCompleted}, false},
		{"rejected before verification", []dsr.Status{dsr.StatusRejected}, false},
		{"rejected when queued", []dsr.Status{dsr.StatusQueued, dsr.StatusRejected}, false},
		{"expired", []dsr.Status{dsr.StatusExpired}, false},
		{"failed", []dsr.Status{dsr.StatusQueued, dsr.StatusInProgress, dsr.StatusFailed}, true},
		{"failed, retried, in progress", []dsr.Status{dsr.StatusQueued, dsr.StatusFailed, dsr.StatusQueued, dsr.StatusInProgress}, true},
	} {
		r := newRequest()
		r.SubjectKey, r.DueAt = subjectKey(), time.Time{} // in no list: they end failed, rejected, expired
		must(t, s.Create(ctx, r, aStep))
		from := r.Status
		for _, to := range tc.path {
			must(t, s.Transition(ctx, r.ID, from, to, now, dsr.Changes{}, aStep))
			from = to
		}
		got := mustGet(t, s, r.ID)
		want := address{"", "a***@e***.com", r.SubjectKey, now}
		if tc.kept {
			want.Email, want.RemovedAt = r.Email, time.Time{}
		}
		wantDiff(t, tc.name, want, address{got.Email, got.MaskedEmail, got.SubjectKey, got.AddressRemovedAt})
	}
}

// addressKeptUntilTheLastDecision: a completed objection with a decision
// pending keeps the address, which applying it needs (Art. 21(1)); the
// last decision applied removes it.
func addressKeptUntilTheLastDecision(t *testing.T, s Store, _ Options) {
	t.Parallel()
	ctx, now := t.Context(), requestsNow
	r := newRequest()
	r.Type, r.Purposes, r.SubjectKey = dsr.TypeObjection, []string{"customer_care", "marketing"}, subjectKey()
	must(t, s.Create(ctx, r, aStep))
	must(t, s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{}, aStep))
	must(t, s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: r.Purposes}, aStep))
	decisions := map[string]string{"customer_care": dsr.DecisionPending, "marketing": dsr.DecisionPending}
	must(t, s.Transition(ctx, r.ID, dsr.StatusInProgress, dsr.StatusCompleted, now, dsr.Changes{CompletedAt: now, ObjectionDecisions: decisions}, aStep))
	var emails []string
	for _, d := range []struct{ purpose, from, to string }{
		{"customer_care", dsr.DecisionPending, dsr.Applying(dsr.DecisionUpheld)},
		{"customer_care", dsr.Applying(dsr.DecisionUpheld), dsr.DecisionUpheld},
		{"marketing", dsr.DecisionPending, dsr.Applying(dsr.DecisionOverridden)},
		{"marketing", dsr.Applying(dsr.DecisionOverridden), dsr.DecisionOverridden},
	} {
		emails = append(emails, mustGet(t, s, r.ID).Email)
		must(t, s.SetDecision(ctx, r.ID, d.purpose, d.from, d.to, now.Add(time.Minute), aStep))
	}
	got := mustGet(t, s, r.ID)
	emails = append(emails, got.Email)
	wantDiff(t, "address before each decision step, and after the last", []string{r.Email, r.Email, r.Email, r.Email, ""}, emails)
	wantDiff(t, "masked, removed at", []any{"a***@e***.com", now.Add(time.Minute)}, []any{got.MaskedEmail, got.AddressRemovedAt})
}

// addressOfFailedForgottenAfterDue: a failed request's address is removed
// once its due date has passed (it can no longer be retried): by
// ForgetAddress, once, not before, and never from an open or unknown
// request; or by the failure itself when it comes after the due date.
func addressOfFailedForgottenAfterDue(t *testing.T, s Store, _ Options) {
	ctx, now := t.Context(), requestsNow
	failed := func(due time.Time) *dsr.Request {
		r := newRequest()
		r.SubjectKey, r.DueAt = subjectKey(), due
		must(t, s.Create(ctx, r, aStep))
		must(t, s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{}, aStep))
		must(t, s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusFailed, now, dsr.Changes{FailureReason: "dead-lettered"}, aStep))
		return r
	}
	late, inTime, open := failed(now.Add(time.Hour)), failed(now.Add(3*time.Hour)), newRequest()
	must(t, s.Create(ctx, open, aStep))
	wantDiff(t, "failed before its due date keeps it", late.Email, mustGet(t, s, late.ID).Email)
	later := now.Add(2 * time.Hour)
	must(t, s.ForgetAddress(ctx, late.ID, later, aStep))
	wantCode(t, "forget again", s.ForgetAddress(ctx, late.ID, later.Add(time.Hour), aStep), dsr.EConflict)
	wantCode(t, "failed, due later", s.ForgetAddress(ctx, inTime.ID, later, aStep), dsr.EConflict)
	wantCode(t, "open", s.ForgetAddress(ctx, open.ID, later, aStep), dsr.EConflict)
	wantCode(t, "unknown", s.ForgetAddress(ctx, unknownRequest, later, aStep), dsr.EConflict)
	want := mustGet(t, s, inTime.ID)
	want.ID, want.SubjectKey, want.DueAt, want.Email, want.AddressRemovedAt, want.UpdatedAt = late.ID, late.SubjectKey, late.DueAt, "", later, later
	wantDiff(t, "forgotten: the rest kept", want, mustGet(t, s, late.ID), ignoreTrail)
	wantDiff(t, "open keeps it", open.Email, mustGet(t, s, open.ID).Email)
	overdue := failed(now.Add(-time.Hour))
	got := mustGet(t, s, overdue.ID)
	wantDiff(t, "failed after its due date", []any{"", "a***@e***.com", now}, []any{got.Email, got.MaskedEmail, got.AddressRemovedAt})
}

// maskedFormKeptFromCreate: a request created without its masked form gets
// it from its address, so that it outlives the address.
func maskedFormKeptFromCreate(t *testing.T, s Store, _ Options) {
	t.Parallel()
	r := newRequest()
	r.Email, r.MaskedEmail = "grace@example.org", ""
	must(t, s.Create(t.Context(), r, aStep))
	wantDiff(t, "masked", "g***@e***.org", mustGet(t, s, r.ID).MaskedEmail)
}

// duePageInWindowEarliestFirst: the requests of a status due in a window
// are found from the due index, earliest first, every page, and no other.
func duePageInWindowEarliestFirst(t *testing.T, s Store, _ Options) {
	ctx, now := t.Context(), requestsNow
	// Due in 2031, so that no other case's request is in the window.
	from := time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	for i, due := range []time.Time{from.Add(-time.Millisecond), from, from.Add(2 * time.Hour), from.Add(time.Hour), from.Add(3 * time.Hour)} {
		r := newRequest()
		r.DueAt = due
		must(t, s.Create(ctx, r, aStep))
		must(t, s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{}, aStep))
		if i != 2 {
			must(t, s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusFailed, now, dsr.Changes{}, aStep))
		}
		if i == 1 || i == 3 {
			want = append(want, r.ID)
		}
	}
	var got []string
	for cursor, pages := "", 0; ; pages++ {
		if pages > 5 {
			t.Fatal("due pages do not end")
		}
		ids, next, err := s.DuePage(ctx, dsr.StatusFailed, from, from.Add(3*time.Hour), cursor)
		must(t, err)
		got = append(got, ids...)
		if next == "" {
			break
		}
		cursor = next
	}
	wantDiff(t, "failed, due in [from, from+3h)", want, got)
	ids, _, err := s.DuePage(ctx, dsr.StatusFailed, from, from, "")
	must(t, err)
	wantDiff(t, "an empty window", 0, len(ids))
}

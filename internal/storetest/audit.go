package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privacyops/dsr/internal/dsr"
)

// AuditStore is the audit trail's contract, with the request store whose
// changes write their steps into it.
type AuditStore interface {
	Create(ctx context.Context, r *dsr.Request, steps ...dsr.Step) error
	Get(ctx context.Context, id string) (*dsr.Request, error)
	Transition(ctx context.Context, id string, from, to dsr.Status, now time.Time, ch dsr.Changes, steps ...dsr.Step) error
	Append(ctx context.Context, s dsr.Step) error
	Entries(ctx context.Context, id string) ([]dsr.AuditEntry, error)
	Walk(ctx context.Context, id string, each func([]dsr.AuditEntry) error) error
	Page(ctx context.Context, id string, before, limit int) ([]dsr.AuditEntry, bool, error)
}

// RunAudit runs the audit trail's contract: a change and its steps are
// written together or not at all; entries come back oldest first as
// written; concurrent appends to one request each get their own place in
// one intact chain (run one after another where the backend does not
// serialize conditional writes, as Options.Sequential says), which ends at
// the head the request records. Each case writes the trails of requests of
// its own, in parallel with the others.
func RunAudit(t *testing.T, newStore func(t *testing.T) AuditStore, o Options) {
	cases := []struct {
		name string
		run  func(t *testing.T, s AuditStore, o Options)
	}{
		{"AppendsFormOneChainOldestFirst", appendsFormOneChainOldestFirst},
		{"PagesNewestFirst", pagesNewestFirst},
		{"WalkGivesTheTrail", walkGivesTheTrail},
		{"NoTrailEmptyPage", noTrailEmptyPage},
		{"HeadIsTheNewestEntry", headIsTheNewestEntry},
		{"ChangeAndItsStepsAreOneWrite", changeAndItsStepsAreOneWrite},
		{"AppendToNoRequestIsNotFound", appendToNoRequestIsNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t), o) })
	}
}

var (
	auditAt    = time.Date(2026, 11, 29, 11, 0, 0, 123456789, time.UTC)
	auditSteps = []dsr.AuditAction{dsr.AuditReceived, dsr.AuditVerified, dsr.AuditDispatched}
)

func newAuditID() string { return fmt.Sprintf("01JA%022d", seq.Add(1)) }

// auditRequest creates a request of its own, with steps, and returns its id.
func auditRequest(t *testing.T, s AuditStore, steps ...dsr.Step) string {
	t.Helper()
	r := newRequest()
	r.ID = newAuditID()
	must(t, s.Create(t.Context(), r, steps...))
	return r.ID
}

// nineStepTrail writes the trail of a request of its own, empty before:
// auditSteps a second apart (the first with its creation), then six
// concurrent steps a minute later. It returns the request's id and its nine
// entries.
func nineStepTrail(t *testing.T, s AuditStore, o Options) (string, []dsr.AuditEntry) {
	t.Helper()
	ctx := t.Context()
	empty, err := s.Entries(ctx, newAuditID())
	must(t, err)
	if diff := cmp.Diff([]dsr.AuditEntry(nil), empty, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("empty trail (-want +got):\n%s", diff)
	}
	step := func(i int) dsr.Step {
		return dsr.Step{Actor: dsr.ActorSubject, Action: auditSteps[i], Detail: fmt.Sprint("step ", i), At: auditAt.Add(time.Duration(i) * time.Second)}
	}
	id := auditRequest(t, s, step(0))
	for i := 1; i < len(auditSteps); i++ {
		st := step(i)
		st.RequestID = id
		must(t, s.Append(ctx, st))
	}
	o.concurrently(6, func(i int) {
		if err := s.Append(ctx, dsr.Step{RequestID: id, Actor: dsr.SystemActor("worker"), Action: dsr.AuditPurposeDone, Detail: fmt.Sprint("purpose p", i), At: auditAt.Add(time.Minute)}); err != nil {
			t.Error(err)
		}
	})
	got, err := s.Entries(ctx, id)
	must(t, err)
	if len(got) != 9 {
		t.Fatalf("%d entries, want 9", len(got))
	}
	return id, got
}

// wantChain checks that entries are request id's intact chain.
func wantChain(t *testing.T, id string, entries []dsr.AuditEntry) {
	t.Helper()
	if c := dsr.VerifyAuditChain(id, entries); !c.Intact {
		t.Errorf("chain: %+v", c)
	}
}

// appendsFormOneChainOldestFirst: steps come back oldest first as written, and concurrent appends each take their own place in one intact chain.
func appendsFormOneChainOldestFirst(t *testing.T, s AuditStore, o Options) {
	t.Parallel()
	id, got := nineStepTrail(t, s, o)
	type step struct {
		Action dsr.AuditAction
		Detail string
		At     time.Time
	}
	var want, first []step
	for i, action := range auditSteps {
		want = append(want, step{action, fmt.Sprint("step ", i), auditAt.Add(time.Duration(i) * time.Second)})
		first = append(first, step{got[i].Action, got[i].Detail, got[i].At})
	}
	wantDiff(t, "the first steps", want, first)
	wantChain(t, id, got)
}

// auditPage is a page of a trail: its entries' positions, and whether older ones follow.
type auditPage struct {
	Seqs []int
	More bool
}

func pageOf(es []dsr.AuditEntry, more bool) auditPage {
	p := auditPage{Seqs: []int{}, More: more}
	for _, e := range es {
		p.Seqs = append(p.Seqs, e.Seq)
	}
	return p
}

// pagesNewestFirst: a trail read page by page comes newest page first, each page oldest first; one page can hold it all.
func pagesNewestFirst(t *testing.T, s AuditStore, o Options) {
	t.Parallel()
	ctx := t.Context()
	id, _ := nineStepTrail(t, s, o)
	var pages []auditPage
	for before := 0; ; {
		if len(pages) > 10 {
			t.Fatal("pages do not end")
		}
		es, more, err := s.Page(ctx, id, before, 4)
		must(t, err)
		pages = append(pages, pageOf(es, more))
		if !more {
			break
		}
		before = es[0].Seq
	}
	wantDiff(t, "pages of 4, newest first", []auditPage{{[]int{6, 7, 8, 9}, true}, {[]int{2, 3, 4, 5}, true}, {[]int{1}, false}}, pages)
	es, more, err := s.Page(ctx, id, 0, 9)
	must(t, err)
	wantDiff(t, "one page of the whole trail", auditPage{[]int{1, 2, 3, 4, 5, 6, 7, 8, 9}, false}, pageOf(es, more))
}

// walkGivesTheTrail: a walk of a trail, oldest first, gives the trail as read.
func walkGivesTheTrail(t *testing.T, s AuditStore, o Options) {
	t.Parallel()
	id, all := nineStepTrail(t, s, o)
	var walked []dsr.AuditEntry
	must(t, s.Walk(t.Context(), id, func(p []dsr.AuditEntry) error { walked = append(walked, p...); return nil }))
	wantDiff(t, "walked", all, walked)
}

// noTrailEmptyPage: a request without a trail has one empty page.
func noTrailEmptyPage(t *testing.T, s AuditStore, _ Options) {
	t.Parallel()
	es, more, err := s.Page(t.Context(), newAuditID(), 0, 4)
	must(t, err)
	wantDiff(t, "a request without a trail", auditPage{[]int{}, false}, pageOf(es, more))
}

// headIsTheNewestEntry: the request records its trail's newest entry, and
// the integrity check finds the trail intact and complete for its status.
func headIsTheNewestEntry(t *testing.T, s AuditStore, o Options) {
	t.Parallel()
	id, got := nineStepTrail(t, s, o)
	r, err := s.Get(t.Context(), id)
	must(t, err)
	wantDiff(t, "the request's head", dsr.HeadOf(got[len(got)-1]), r.Trail)
	c := dsr.NewAuditChecker(id)
	for _, e := range got {
		c.Add(e)
	}
	wantDiff(t, "the integrity check", dsr.AuditCheck{Intact: true, Entries: 9}, c.Check(r))
}

// changeAndItsStepsAreOneWrite: a change's steps follow the trail in order;
// a change its condition refuses, or one without a step, writes neither.
func changeAndItsStepsAreOneWrite(t *testing.T, s AuditStore, _ Options) {
	t.Parallel()
	ctx, at := t.Context(), auditAt
	received := dsr.Step{Actor: dsr.ActorSubject, Action: dsr.AuditReceived, Detail: "access request", At: at}
	id := auditRequest(t, s, received)
	verified := dsr.Step{Actor: dsr.ActorSubject, Action: dsr.AuditVerified, Detail: "code verified; queued", At: at.Add(time.Second)}
	waiting := dsr.Step{Actor: dsr.SystemActor("dispatch"), Action: dsr.AuditWaiting, Detail: "the backfill of billing", At: at.Add(time.Second)}
	must(t, s.Transition(ctx, id, dsr.StatusAwaitingVerification, dsr.StatusQueued, at, dsr.Changes{VerifiedAt: at}, verified, waiting))
	wantCode(t, "a transition from a status left", s.Transition(ctx, id, dsr.StatusAwaitingVerification, dsr.StatusExpired, at, dsr.Changes{}, received), dsr.EConflict)
	if err := s.Transition(ctx, id, dsr.StatusQueued, dsr.StatusInProgress, at, dsr.Changes{}); err == nil {
		t.Error("a transition without a step was made")
	}
	r, err := s.Get(ctx, id)
	must(t, err)
	wantDiff(t, "status", dsr.StatusQueued, r.Status)
	got, err := s.Entries(ctx, id)
	must(t, err)
	var actions []dsr.AuditAction
	for _, e := range got {
		actions = append(actions, e.Action)
	}
	wantDiff(t, "trail", []dsr.AuditAction{dsr.AuditReceived, dsr.AuditVerified, dsr.AuditWaiting}, actions)
	wantChain(t, id, got)
	wantDiff(t, "the request's head", dsr.HeadOf(got[len(got)-1]), r.Trail)
}

// appendToNoRequestIsNotFound: a step of a request that does not exist is
// not recorded.
func appendToNoRequestIsNotFound(t *testing.T, s AuditStore, _ Options) {
	t.Parallel()
	ctx, id := t.Context(), newAuditID()
	err := s.Append(ctx, dsr.Step{RequestID: id, Actor: dsr.ActorSubject, Action: dsr.AuditLinkIssued, Detail: "report (json)", At: auditAt})
	wantCode(t, "a step of no request", err, dsr.ENotFound)
	got, err := s.Entries(ctx, id)
	must(t, err)
	wantDiff(t, "entries", 0, len(got))
}

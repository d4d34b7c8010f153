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
// serialize conditional writes, as Options.Sequential says). Each case
// writes the trails of requests of its own, in parallel with the others.
func RunAudit(t *testing.T, newStore func(t *testing.T) AuditStore, o Options) {
	cases := []struct {
		name string
		run  func(t *testing.T, s AuditStore, o Options)
	}{
		{"AppendsFormOneChainOldestFirst", appendsFormOneChainOldestFirst},
		{"PagesNewestFirst", pagesNewestFirst},
		{"WalkGivesTheTrail", walkGivesTheTrail},
		{"NoTrailEmptyPage", noTrailEmptyPage},
		{"AppendOnceWhileTheLastStep", appendOnceWhileTheLastStep},
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

// nineStepTrail writes the trail of a request of its own, empty before:
// auditSteps a second apart, then six concurrent steps a minute later. It
// returns the request's id and its nine entries.
func nineStepTrail(t *testing.T, s AuditStore, o Options) (string, []dsr.AuditEntry) {
	t.Helper()
	ctx, id := t.Context(), newAuditID()
	empty, err := s.Entries(ctx, id)
	must(t, err)
	if diff := cmp.Diff([]dsr.AuditEntry(nil), empty, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("empty trail (-want +got):\n%s", diff)
	}
	for i, action := range auditSteps {
		must(t, s.Append(ctx, dsr.Step{RequestID: id, Actor: dsr.ActorSubject, Action: action, Detail: fmt.Sprint("step ", i), At: auditAt.Add(time.Duration(i) * time.Second)}))
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

// appendOnceWhileTheLastStep: a step repeated by retries, even racing ones, is recorded once while it is the last; after another step it is recorded again.
func appendOnceWhileTheLastStep(t *testing.T, s AuditStore, o Options) {
	t.Parallel()
	ctx, id := t.Context(), newAuditID()
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
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
	must(t, s.Append(ctx, dsr.Step{RequestID: id, Actor: dsr.SystemActor("dispatch"), Action: dsr.AuditDispatched, Detail: "purposes: billing", At: at}))
	wait("the backfill of billing, marketing")
	got, err := s.Entries(ctx, id)
	must(t, err)
	var details []string
	for _, e := range got {
		details = append(details, string(e.Action)+": "+e.Detail)
	}
	wantDiff(t, "trail", []string{"waiting: the backfill of billing", "waiting: the backfill of billing, marketing",
		"dispatched: purposes: billing", "waiting: the backfill of billing, marketing"}, details)
	wantChain(t, id, got)
}

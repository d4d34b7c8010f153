package retention_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/memstore"
	"github.com/privacyops/dsr/internal/retention"
)

// t0 is "day t" of the tests: the job runs at 03:00 UTC.
var t0 = time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)

type fakeObjects struct{ cutoffs []time.Time }

func (o *fakeObjects) DeleteOlderThan(_ context.Context, cutoff time.Time) (int, error) {
	o.cutoffs = append(o.cutoffs, cutoff)
	return 2, nil
}

type fakeContinuer struct{ n int }

func (c *fakeContinuer) Continue(context.Context) error { c.n++; return nil }

// testRegistry is dsrtest's registry: marketing, and billing restricted
// on erasure.
var testRegistry, _ = dsr.ParseRegistry([]byte(dsrtest.RegistryYAML))

type fixture struct {
	entries  *memstore.Provenance
	requests *memstore.Requests
	objects  *fakeObjects
	cont     *fakeContinuer
	audit    *memstore.Audit
	contacts *memstore.Contacts
	notices  *dsrtest.Queue
	job      *retention.Job
}

func newFixture() *fixture {
	requests := &memstore.Requests{}
	f := &fixture{entries: &memstore.Provenance{}, requests: requests, objects: &fakeObjects{}, cont: &fakeContinuer{}, audit: requests.Trail(),
		contacts: &memstore.Contacts{}, notices: &dsrtest.Queue{}}
	f.job = &retention.Job{
		Entries: f.entries, Requests: f.requests, Objects: f.objects, Continue: f.cont,
		Restrictions: f.contacts, Notices: f.notices, Registry: testRegistry,
		ReportDays: 30, AccountabilityYears: 3, ProvenanceYears: dsr.DefaultProvenanceYears, Reserve: 5 * time.Second,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	return f
}

// put stores an entry of subject at at (collected from source).
func (f *fixture) put(t testing.TB, subject, source string, at time.Time) dsr.ProvenanceEntry {
	t.Helper()
	e := dsr.NewProvenanceEntry(dsr.ProvenanceEvent{Purpose: "marketing", Event: dsr.EventCollected, Source: source, At: at}, subject, dsr.DefaultProvenanceYears)
	if _, err := f.entries.Put(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return e
}

func (f *fixture) left(t testing.TB, subject string) []string {
	t.Helper()
	// Read as of long ago, so that expired entries still stored show too.
	es, err := f.entries.Subject(context.Background(), subject, "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Source)
	}
	return out
}

func TestTwoYearsToTheDay(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	f.put(t, "S1", "two years and a day ago", t0.AddDate(-2, 0, -1))
	f.put(t, "S1", "two years less a day ago", t0.AddDate(-2, 0, 1))
	f.put(t, "S1", "two years ago, later today", t0.AddDate(-2, 0, 0).Add(time.Hour))
	sum, err := f.job.Run(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Deleted != 1 || sum.ItemsRead != 1 {
		t.Errorf("summary %+v: want exactly the entry of two years and a day ago deleted, after reading it alone", sum)
	}
	if diff := cmp.Diff([]string{"two years ago, later today", "two years less a day ago"}, sorted(f.left(t, "S1"))); diff != "" {
		t.Errorf("entries left (-want +got):\n%s", diff)
	}
	// Later the same day, the entry that expired at 04:00 goes too.
	if sum, err = f.job.Run(ctx, t0.Add(2*time.Hour)); err != nil || sum.Deleted != 1 {
		t.Fatalf("second run: %+v, %v", sum, err)
	}
	if diff := cmp.Diff([]string{"two years less a day ago"}, f.left(t, "S1")); diff != "" {
		t.Errorf("entries left (-want +got):\n%s", diff)
	}
	// Two days later, the last one.
	if sum, err = f.job.Run(ctx, t0.AddDate(0, 0, 2)); err != nil || sum.Deleted != 1 || sum.Days != 3 {
		t.Fatalf("third run: %+v, %v", sum, err)
	}
	if f.entries.Len() != 0 {
		t.Errorf("%d entries left", f.entries.Len())
	}
}

// TestYearsPerPurpose: the sweep deletes each entry when its purpose's
// years have passed: a marketing entry after two, a billing one (a 10-year
// duty) after eleven, so billing's of six years ago stays.
func TestYearsPerPurpose(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	at := t0.AddDate(-6, 0, 0)
	for _, purpose := range []string{"marketing", "billing"} {
		ev := dsr.ProvenanceEvent{Purpose: purpose, Event: dsr.EventCollected, Source: purpose + " shop", At: at}
		e := dsr.NewProvenanceEntry(ev, "S1", testRegistry.ProvenanceYears(purpose, dsr.DefaultProvenanceYears))
		if _, err := f.entries.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// The first run reads a week back; a run of four years ago, just after
	// marketing's entry expired, deletes it.
	if _, err := f.job.Run(ctx, at.AddDate(2, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"billing shop"}, f.left(t, "S1")); diff != "" {
		t.Errorf("after two years (-want +got):\n%s", diff)
	}
	for _, day := range []time.Time{t0, at.AddDate(11, 0, -1)} {
		if _, err := f.job.Run(ctx, day); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"billing shop"}, f.left(t, "S1")); diff != "" {
			t.Errorf("at %s (-want +got):\n%s", day, diff)
		}
	}
	if _, err := f.job.Run(ctx, at.AddDate(11, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if left := f.left(t, "S1"); len(left) != 0 {
		t.Errorf("after eleven years: %v left", left)
	}
}

// TestStoredShorterIsRenewed: an entry stored before its purpose kept its
// provenance longer (billing's with the old fixed two years) is renewed to
// its purpose's years when it comes due, not deleted; one of a purpose
// whose years have not changed is deleted; the renewed one goes when its
// purpose's years are over.
func TestStoredShorterIsRenewed(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	at := t0.AddDate(-2, 0, -1)
	var billing dsr.ProvenanceEntry
	for _, purpose := range []string{"marketing", "billing"} {
		ev := dsr.ProvenanceEvent{Purpose: purpose, Event: dsr.EventDisclosed, Recipient: purpose + " partner", Country: "DE", At: at}
		e := dsr.NewProvenanceEntry(ev, "S1", dsr.DefaultProvenanceYears) // as stored before
		if _, err := f.entries.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
		if purpose == "billing" {
			billing = e
		}
	}
	sum, err := f.job.Run(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Deleted != 1 || sum.Renewed != 1 {
		t.Errorf("summary %+v: want marketing's deleted, billing's renewed", sum)
	}
	got, _ := f.entries.Subject(ctx, "S1", "", t0)
	want := billing
	want.ExpiresAt = at.AddDate(11, 0, 0) // billing: a 10-year duty
	if diff := cmp.Diff([]dsr.ProvenanceEntry{want}, got); diff != "" {
		t.Errorf("entries left (-want +got):\n%s", diff)
	}
	if sum, err := f.job.Run(ctx, t0.AddDate(0, 0, 1)); err != nil || sum.Renewed != 0 || sum.Deleted != 0 {
		t.Errorf("the next day: %+v, %v; want nothing due", sum, err)
	}
	if sum, err := f.job.Run(ctx, want.ExpiresAt.AddDate(0, 0, 1)); err != nil || sum.Renewed != 0 || sum.Deleted != 1 {
		t.Errorf("after eleven years: %+v, %v; want it deleted", sum, err)
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// seedMany stores n entries of n/10 subjects, due of them expired in the
// last six days and the rest expiring over the next two years.
func seedMany(t testing.TB, f *fixture, n, due int) {
	t.Helper()
	for i := range n {
		at := t0.AddDate(-2, 0, 0).Add(time.Duration(i%6+1) * -20 * time.Hour) // expired 20 h to 5 days ago
		if i >= due {
			at = t0.AddDate(-2, 0, 0).Add(time.Duration(1+i%700) * 24 * time.Hour)
		}
		f.put(t, fmt.Sprintf("S%05d", i%(n/10)), fmt.Sprintf("source %d", i), at)
	}
}

func TestSweepReadsOnlyWhatIsDue(t *testing.T) {
	f := newFixture()
	const n, due = 100_000, 1_000
	seedMany(t, f, n, due)
	sum, err := f.job.Run(context.Background(), t0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("100,000 entries, 1%% due: %+v", sum)
	if sum.Deleted != due || f.entries.Len() != n-due {
		t.Errorf("deleted %d, %d left; want %d deleted", sum.Deleted, f.entries.Len(), due)
	}
	if sum.ItemsRead != due {
		t.Errorf("read %d index items for %d due entries; a sweep must read only what is due", sum.ItemsRead, due)
	}
	for k, n := range f.entries.Deletes {
		if n != 1 {
			t.Errorf("%s deleted %d times", k, n)
		}
	}
}

func TestStoppedRunResumes(t *testing.T) {
	f := newFixture()
	const n, due = 20_000, 2_400 // several pages per shard
	seedMany(t, f, n, due)
	// A reserve longer than the deadline: every run stops after its first page.
	f.job.Reserve = time.Hour
	runs := 0
	total := retention.Summary{}
	for ; runs < 100; runs++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		sum, err := f.job.Run(ctx, t0)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		total.Deleted += sum.Deleted
		total.ItemsRead += sum.ItemsRead
		if !sum.Continued {
			break
		}
	}
	if runs < 5 || f.cont.n != runs {
		t.Errorf("%d runs, %d continuations: every stopped run must ask for the next", runs+1, f.cont.n)
	}
	if total.Deleted != due || f.entries.Len() != n-due || total.ItemsRead != due {
		t.Errorf("after %d runs: deleted %d, read %d, %d left; want %d deleted and read once", runs+1, total.Deleted, total.ItemsRead, f.entries.Len(), due)
	}
	if len(f.entries.Deletes) != due {
		t.Errorf("%d distinct entries deleted, want %d", len(f.entries.Deletes), due)
	}
	for k, n := range f.entries.Deletes {
		if n != 1 {
			t.Errorf("%s deleted %d times", k, n)
		}
	}
}

func TestOpenRequestHoldsEntries(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	f.put(t, "ADA", "fair", t0.AddDate(-2, 0, -1))
	f.put(t, "GRACE", "fair", t0.AddDate(-2, 0, -1))
	req := &dsr.Request{ID: "R1", Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification, Email: "ada@example.com", SubjectKey: "ADA", ReceivedAt: t0.AddDate(0, 0, -1)}
	if err := f.requests.Create(ctx, req, dsrtest.Step(dsr.AuditReceived)); err != nil {
		t.Fatal(err)
	}
	if err := f.requests.Transition(ctx, "R1", dsr.StatusAwaitingVerification, dsr.StatusQueued, t0, dsr.Changes{}, dsrtest.StepTo(dsr.StatusQueued)); err != nil {
		t.Fatal(err)
	}
	sum, err := f.job.Run(ctx, t0)
	if err != nil || sum.Deleted != 1 || sum.Held != 1 {
		t.Fatalf("run: %+v, %v; want grace's entry deleted and ada's held", sum, err)
	}
	if len(f.left(t, "ADA")) != 1 || len(f.left(t, "GRACE")) != 0 {
		t.Fatalf("ada %v, grace %v", f.left(t, "ADA"), f.left(t, "GRACE"))
	}
	// Still open the next day: held again.
	if sum, err = f.job.Run(ctx, t0.AddDate(0, 0, 1)); err != nil || sum.Held != 1 || sum.Deleted != 0 {
		t.Fatalf("next day: %+v, %v", sum, err)
	}
	// The request ends; the day after, the entry goes.
	for _, st := range []dsr.Status{dsr.StatusInProgress, dsr.StatusCompleted} {
		cur, _ := f.requests.Get(ctx, "R1")
		if err := f.requests.Transition(ctx, "R1", cur.Status, st, t0, dsr.Changes{}, dsrtest.StepTo(st)); err != nil {
			t.Fatal(err)
		}
	}
	if sum, err = f.job.Run(ctx, t0.AddDate(0, 0, 2)); err != nil || sum.Deleted != 1 || sum.Held != 0 {
		t.Fatalf("after the request ended: %+v, %v", sum, err)
	}
	if f.entries.Len() != 0 {
		t.Errorf("%d entries left", f.entries.Len())
	}
}

func TestStorageLimitation(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	add := func(id string, received time.Time, st dsr.Status) {
		r := &dsr.Request{ID: id, Type: dsr.TypeErasure, Status: st, Email: "ada@example.com", SubjectKey: "ADA", TokenHash: "h", ReceivedAt: received}
		if err := f.requests.Create(ctx, r, dsrtest.Step(dsr.AuditReceived)); err != nil {
			t.Fatal(err)
		}
	}
	add("OLD1", t0.AddDate(-3, 0, -1), dsr.StatusCompleted)
	add("OLD2", t0.AddDate(-4, 0, 0), dsr.StatusExpired)
	add("NEW", t0.AddDate(-3, 0, 1), dsr.StatusCompleted)
	sum, err := f.job.Run(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if sum.RequestsStripped != 2 || sum.ObjectsDeleted != 2 {
		t.Errorf("summary %+v", sum)
	}
	if want := t0.AddDate(0, 0, -30); len(f.objects.cutoffs) != 1 || !f.objects.cutoffs[0].Equal(want) {
		t.Errorf("objects cutoff %v, want %v", f.objects.cutoffs, want)
	}
	for id, stripped := range map[string]bool{"OLD1": true, "OLD2": true, "NEW": false} {
		r, err := f.requests.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Email == "" && r.SubjectKey == "" && r.TokenHash == "" && !r.IdentifiersRemovedAt.IsZero(); got != stripped {
			t.Errorf("%s: stripped %v, want %v (%+v)", id, got, stripped, r)
		}
		if stripped && r.Status == "" {
			t.Errorf("%s lost its status", id)
		}
		if got := f.audit.Actions(id); stripped != (removals(got) == 1 && got[len(got)-1] == dsr.AuditIdentifiersRemoved) {
			t.Errorf("%s trail %v", id, got)
		}
	}
	// Two days later the newer one goes, and the old ones are not touched again.
	if sum, err = f.job.Run(ctx, t0.AddDate(0, 0, 2)); err != nil || sum.RequestsStripped != 1 {
		t.Fatalf("second run: %+v, %v", sum, err)
	}
	if got := f.audit.Actions("OLD1"); removals(got) != 1 {
		t.Errorf("OLD1 stripped again: %v", got)
	}
}

func TestConcurrentRunStops(t *testing.T) {
	f := newFixture()
	f.put(t, "S", "fair", t0.AddDate(-2, 0, -1))
	// Another run saved the checkpoint since this one read it.
	stale := &staleCheckpoint{Provenance: f.entries}
	f.job.Entries = stale
	sum, err := f.job.Run(context.Background(), t0)
	if err != nil || !sum.Superseded {
		t.Fatalf("%+v, %v: want the run superseded", sum, err)
	}
}

type staleCheckpoint struct{ *memstore.Provenance }

func (s *staleCheckpoint) Checkpoint(ctx context.Context) (dsr.RetentionCheckpoint, error) {
	cp, err := s.Provenance.Checkpoint(ctx)
	if err == nil {
		_, err = s.Provenance.SaveCheckpoint(ctx, cp) // the other run
	}
	return cp, err
}

func TestHandlerInvoke(t *testing.T) {
	f := newFixture()
	f.job.Clock = func() time.Time { return t0 }
	h := &retention.Handler{Job: f.job, Log: f.job.Log}
	f.put(t, "S", "due on the scheduled day", t0.AddDate(-2, 0, 2))
	out, err := h.Invoke(context.Background(), json.RawMessage(`{"version":"0","detail-type":"Scheduled Event","source":"aws.events","time":"2026-12-03T03:00:00Z","detail":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	var sum retention.Summary
	if err := json.Unmarshal(out, &sum); err != nil || sum.Days != 8 || sum.Deleted != 1 {
		t.Errorf("scheduled run answered %s (%v): want a run at the event's time, 7 days back and that day", out, err)
	}
	out, err = h.Invoke(context.Background(), json.RawMessage(`{"Records":[{"messageId":"m1","body":"{\"continue\":\"retention\"}","eventSource":"aws:sqs"}]}`))
	if err != nil || string(out) != `{"batchItemFailures":null}` {
		t.Errorf("continuation answered %s, %v", out, err)
	}
	if _, err := h.Invoke(context.Background(), json.RawMessage(`not json`)); err == nil {
		t.Error("a non-JSON event must fail")
	}
}

// failingStrips is a request store whose first n strips fail (throttled).
type failingStrips struct {
	*memstore.Requests
	n int
}

func (s *failingStrips) StripIdentifiers(ctx context.Context, id string, now time.Time, steps ...dsr.Step) error {
	if s.n > 0 {
		s.n--
		return fmt.Errorf("throttled")
	}
	return s.Requests.StripIdentifiers(ctx, id, now, steps...)
}

// removals counts the identifiers_removed steps of a trail.
func removals(trail []dsr.AuditAction) int {
	n := 0
	for _, a := range trail {
		if a == dsr.AuditIdentifiersRemoved {
			n++
		}
	}
	return n
}

func TestStripResumesAndAuditsOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	const n = 230 // three index pages
	for i := range n {
		r := &dsr.Request{ID: fmt.Sprintf("OLD%04d", i), Type: dsr.TypeAccess, Status: dsr.StatusCompleted, Email: "ada@example.com",
			SubjectKey: "ADA", ReceivedAt: t0.AddDate(-4, 0, 0).Add(time.Duration(i) * time.Minute)}
		if err := f.requests.Create(ctx, r, dsrtest.Step(dsr.AuditReceived)); err != nil {
			t.Fatal(err)
		}
	}
	// The first run strips one request, then the store fails: the run
	// fails, and the request it could not strip has no step either.
	f.job.Requests = &failingStrips{Requests: f.requests, n: 1}
	if _, err := f.job.Run(ctx, t0); err == nil {
		t.Fatal("a failed strip must fail the run")
	}
	f.job.Requests = f.requests
	// Then every run stops after one page and continues (the sweep of
	// today's shards first, then the strip's index pages).
	f.job.Reserve = time.Hour
	stripped, runs := 0, 0
	for ; runs < 100; runs++ {
		dctx, cancel := context.WithTimeout(ctx, time.Minute)
		sum, err := f.job.Run(dctx, t0)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		stripped += sum.RequestsStripped
		if !sum.Continued {
			break
		}
	}
	if runs < 3 || stripped != n {
		t.Errorf("%d runs stripped %d; want %d over several runs", runs+1, stripped, n)
	}
	for i := range n {
		id := fmt.Sprintf("OLD%04d", i)
		if got := f.audit.Actions(id); removals(got) != 1 || got[len(got)-1] != dsr.AuditIdentifiersRemoved {
			t.Fatalf("%s trail %v: want exactly one identifiers_removed", id, got)
		}
		if r, _ := f.requests.Get(ctx, id); r.Email != "" {
			t.Fatalf("%s not stripped", id)
		}
	}
}

func TestFailedRequestHoldsUntilDue(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	f.put(t, "ADA", "fair", t0.AddDate(-2, 0, -1))
	r := &dsr.Request{ID: "R1", Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification, Email: "ada@example.com", SubjectKey: "ADA", ReceivedAt: t0.AddDate(0, 0, -20)}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.requests.Create(ctx, r, dsrtest.Step(dsr.AuditReceived)))
	must(f.requests.Transition(ctx, "R1", dsr.StatusAwaitingVerification, dsr.StatusQueued, t0, dsr.Changes{}, dsrtest.StepTo(dsr.StatusQueued)))
	must(f.requests.SetDeadline(ctx, "R1", 0, dsr.Extension{Months: 1, Reason: "r", By: "dpo", At: t0, DueAt: t0.AddDate(0, 0, 10)}, dsrtest.Step(dsr.AuditExtended)))
	must(f.requests.Transition(ctx, "R1", dsr.StatusQueued, dsr.StatusFailed, t0, dsr.Changes{FailureReason: "dead-lettered"}, dsrtest.StepTo(dsr.StatusFailed)))
	if sum, err := f.job.Run(ctx, t0); err != nil || sum.Held != 1 {
		t.Fatalf("before the due date: %+v, %v; want held", sum, err)
	}
	if sum, err := f.job.Run(ctx, t0.AddDate(0, 0, 11)); err != nil || sum.Deleted != 1 {
		t.Fatalf("after the due date: %+v, %v; want deleted", sum, err)
	}
}

// A failed request keeps its plain address while the DPO may retry it, until
// its due date; the first run after that removes it, records the removal
// once in its trail, and keeps the subject key and the masked form
// (Art. 5(1)(c), (e)). Requests failed and due later, or open, keep theirs.
func TestFailedRequestLosesAddressAfterDue(t *testing.T) {
	ctx := context.Background()
	f := newFixture()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	create := func(id string, due time.Time, fail bool) {
		r := &dsr.Request{ID: id, Type: dsr.TypeErasure, Status: dsr.StatusAwaitingVerification, Email: "ada@example.com", SubjectKey: "ADA", ReceivedAt: t0.AddDate(0, 0, -20), DueAt: due}
		must(f.requests.Create(ctx, r, dsrtest.Step(dsr.AuditReceived)))
		must(f.requests.Transition(ctx, id, dsr.StatusAwaitingVerification, dsr.StatusQueued, t0, dsr.Changes{}, dsrtest.StepTo(dsr.StatusQueued)))
		if fail {
			must(f.requests.Transition(ctx, id, dsr.StatusQueued, dsr.StatusFailed, t0, dsr.Changes{FailureReason: "dead-lettered"}, dsrtest.StepTo(dsr.StatusFailed)))
		}
	}
	create("SOON", t0.AddDate(0, 0, 5), true)
	create("LATER", t0.AddDate(0, 0, 15), true)
	create("OPEN", t0.AddDate(0, 0, 5), false)
	email := func(id string) string {
		r, err := f.requests.Get(ctx, id)
		must(err)
		return r.Email
	}
	for _, run := range []struct {
		at      time.Time
		removed int
		kept    []string
	}{
		{t0, 0, []string{"SOON", "LATER", "OPEN"}},
		{t0.AddDate(0, 0, 6), 1, []string{"LATER", "OPEN"}},
		{t0.AddDate(0, 0, 7), 0, []string{"LATER", "OPEN"}},
		{t0.AddDate(0, 0, 16), 1, []string{"OPEN"}},
	} {
		sum, err := f.job.Run(ctx, run.at)
		if err != nil || sum.AddressesRemoved != run.removed {
			t.Fatalf("run at %s: %+v, %v; want %d address(es) removed", run.at, sum, err, run.removed)
		}
		for _, id := range run.kept {
			if email(id) == "" {
				t.Errorf("run at %s: %s lost its address", run.at, id)
			}
		}
	}
	r, err := f.requests.Get(ctx, "SOON")
	must(err)
	if r.Email != "" || r.SubjectKey != "ADA" || r.Masked() != "a***@e***.com" || !r.AddressRemovedAt.Equal(t0.AddDate(0, 0, 6)) {
		t.Errorf("SOON after its due date: email %q, key %q, masked %q, removed %s", r.Email, r.SubjectKey, r.Masked(), r.AddressRemovedAt)
	}
	if got := f.audit.Actions("SOON"); slices.Index(got, dsr.AuditAddressRemoved) != len(got)-1 || slices.Index(got, dsr.AuditAddressRemoved) < 0 {
		t.Errorf("SOON trail %v: want one address_removed, last", got)
	}
}

package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/memstore"
	"github.com/privacyops/dsr/internal/worker"
)

// fakeItem is one item of a fake purpose table.
type fakeItem struct {
	subject     string
	restriction *dsr.Restriction
}

// fakeTables are the purpose tables: purpose → key → item. Keys page in
// sorted order, pageSize at a time; the cursor is the last key read.
type fakeTables struct {
	mu         sync.Mutex
	items      map[string]map[string]*fakeItem
	pageSize   int
	failDelete int // the n-th Delete call fails (0: none)
	deletes    int
	onSurvey   func(t *fakeTables, purpose string) // runs before each Survey
}

func (f *fakeTables) add(purpose, subject string, n int) {
	if f.items[purpose] == nil {
		f.items[purpose] = map[string]*fakeItem{}
	}
	for i := range n {
		f.items[purpose][fmt.Sprintf("%s-%s-%05d", purpose, subject, i)] = &fakeItem{subject: subject}
	}
}

// fakeSubjectKeys are the subject keys of the fakes' addresses, as the
// keying function writes them on the records.
var fakeSubjectKeys = map[string]string{"ada@example.com": "key-ada", "grace@example.com": "key-grace"}

// keysOf returns the keys of purpose's items of subject, an address (as the
// tests name it) or its subject key (as the worker asks).
func (f *fakeTables) keysOf(purpose, subject string) []string {
	var keys []string
	for k, it := range f.items[purpose] {
		if it.subject == subject || fakeSubjectKeys[it.subject] == subject {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// ofSubject returns the keys of purpose's items that are s's: their key and
// their address, as dynamo.Contacts checks both.
func (f *fakeTables) ofSubject(purpose string, s dsr.Subject) []string {
	return slices.DeleteFunc(f.keysOf(purpose, s.Key), func(k string) bool { return f.items[purpose][k].subject != s.Email })
}

func (f *fakeTables) KeysPage(_ context.Context, p dsr.Purpose, s dsr.Subject, cursor string) ([]string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var page []string
	for _, k := range f.ofSubject(p.Name, s) {
		if k > cursor {
			page = append(page, k)
		}
	}
	if len(page) <= f.pageSize {
		return page, "", nil
	}
	page = page[:f.pageSize]
	return page, page[len(page)-1], nil
}

func (f *fakeTables) Delete(_ context.Context, p dsr.Purpose, refs []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes++
	if f.deletes == f.failDelete {
		return errors.New("throttled for good")
	}
	for _, k := range refs {
		delete(f.items[p.Name], k)
	}
	return nil
}

func (f *fakeTables) Restrict(_ context.Context, p dsr.Purpose, refs []string, r dsr.Restriction) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range refs {
		if it, ok := f.items[p.Name][k]; ok && (it.restriction == nil || r.Overrides) {
			it.restriction = &r
		}
	}
	return nil
}

func (f *fakeTables) Unrestrict(_ context.Context, p dsr.Purpose, refs []string, requestID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range refs {
		if it, ok := f.items[p.Name][k]; ok && it.restriction != nil && it.restriction.RequestID == requestID && it.restriction.Reason == dsr.RestrictionObjection {
			it.restriction = nil
		}
	}
	return nil
}

func (f *fakeTables) Survey(_ context.Context, p dsr.Purpose, s dsr.Subject) ([]dsr.ItemRef, error) {
	if f.onSurvey != nil {
		f.onSurvey(f, p.Name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []dsr.ItemRef
	for _, k := range f.ofSubject(p.Name, s) {
		ref := dsr.ItemRef{Key: k}
		if r := f.items[p.Name][k].restriction; r != nil {
			ref.Restricted, ref.Until = true, r.Until
		}
		out = append(out, ref)
	}
	return out, nil
}

func (f *fakeTables) Backups(_ context.Context, p dsr.Purpose, at time.Time) ([]dsr.Copy, error) {
	until := at.AddDate(0, 0, 35)
	return []dsr.Copy{{Kind: "point_in_time_recovery", Resource: p.Name, Detail: "35 days", Until: &until}}, nil
}

// PutChunkOnce, DeleteRequestObjects and Copies make fakeReports the Evidence.
func (r *fakeReports) PutChunkOnce(_ context.Context, p dsr.Chunk) (dsr.Chunk, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := partKey(p.RequestID, p.Purpose, p.Index)
	if have, ok := r.parts[k]; ok {
		return have, false, nil
	}
	r.parts[k] = p
	return p, true, nil
}

func (r *fakeReports) FindChunk(_ context.Context, id, purpose string, chunk int) (dsr.Chunk, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.parts[partKey(id, purpose, chunk)]
	return p, ok, nil
}

func (r *fakeReports) DeleteRequestObjects(_ context.Context, id string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k := range r.reports {
		if strings.HasPrefix(k, id+"/") {
			delete(r.reports, k)
			n++
		}
	}
	return n, nil
}

func (r *fakeReports) Copies(context.Context) ([]dsr.Copy, error) { return nil, nil }

type eraseEnv struct {
	h       *worker.Handler
	store   *memstore.Requests
	audit   *memstore.Audit
	tables  *fakeTables
	reports *fakeReports
	queue   *fakeQueue
	id      string
	now     time.Time
}

// newEraseEnv stores request r (type, scope, purposes set by the caller) as
// dispatched: in progress with its plan.
func newEraseEnv(t *testing.T, r dsr.Request) *eraseEnv {
	t.Helper()
	reg := dsrtest.Registry(t)
	e := &eraseEnv{
		store: &memstore.Requests{}, audit: &memstore.Audit{}, reports: newReports(), queue: &fakeQueue{}, id: "01JDERASE",
		tables: &fakeTables{items: map[string]map[string]*fakeItem{}, pageSize: 10},
		now:    time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC),
	}
	e.h = &worker.Handler{
		Requests: e.store, Contacts: contactTables{&fakeContacts{}, e.tables}, Objects: e.reports, Tasks: e.queue,
		Provenance: &memstore.Provenance{}, Notices: &fakeNotices{}, Audit: e.audit,
		Registry: reg, Controller: dsr.Controller{Name: "Shop", Contact: "privacy@shop.example"},
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Reserve: time.Second,
		Clock: func() time.Time { return e.now },
	}
	ctx := context.Background()
	r.ID, r.Status, r.Email, r.SubjectKey = e.id, dsr.StatusAwaitingVerification, "ada@example.com", "key-ada"
	r.ReceivedAt, r.UpdatedAt = e.now, e.now
	plan, err := dsr.Plan(&r, reg)
	must(t, err)
	must(t, e.store.Create(ctx, &r))
	must(t, e.store.Transition(ctx, e.id, dsr.StatusAwaitingVerification, dsr.StatusQueued, e.now, dsr.Changes{VerifiedAt: e.now}))
	must(t, e.store.Transition(ctx, e.id, dsr.StatusQueued, dsr.StatusInProgress, e.now, dsr.Changes{PlannedPurposes: plan}))
	return e
}

func (e *eraseEnv) runAll(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	r, _ := e.store.Get(ctx, e.id)
	for _, p := range r.PlannedPurposes {
		if resp := e.deliver(t, ctx, p); len(resp) != 0 {
			t.Fatalf("task %s failed", p)
		}
	}
}

func (e *eraseEnv) deliver(t *testing.T, ctx context.Context, purpose string) []string {
	t.Helper()
	resp, err := e.h.Handle(ctx, sqsEvent(t, dsr.TaskMessage{RequestID: e.id, Purpose: purpose}))
	must(t, err)
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	return failed
}

func (e *eraseEnv) certificate(t *testing.T) dsr.Certificate {
	t.Helper()
	raw, ok := e.reports.reports[e.id+"/certificate.json"]
	if !ok {
		t.Fatal("no certificate written")
	}
	var c dsr.Certificate
	must(t, json.Unmarshal(raw, &c))
	return c
}

func outcomes(c dsr.Certificate) map[string]dsr.PurposeOutcome {
	m := map[string]dsr.PurposeOutcome{}
	for _, o := range c.Purposes {
		m[o.Purpose] = o
	}
	return m
}

func TestErasureDeletesRestrictsAndCertifies(t *testing.T) {
	e := newEraseEnv(t, dsr.Request{Type: dsr.TypeErasure})
	e.tables.add("marketing", "ada@example.com", 35)
	e.tables.add("marketing", "grace@example.com", 4)
	e.tables.add("billing", "ada@example.com", 3)
	// An earlier access report of ada's, to be deleted with her data.
	ctx := context.Background()
	must(t, e.store.Create(ctx, &dsr.Request{ID: "01JDACCESS", Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification, SubjectKey: "key-ada", Email: "ada@example.com"}))
	must(t, e.store.Transition(ctx, "01JDACCESS", dsr.StatusAwaitingVerification, dsr.StatusRejected, e.now, dsr.Changes{Result: &dsr.Result{ReportJSONKey: "01JDACCESS/report.json"}}))
	e.reports.reports["01JDACCESS/report.json"] = []byte("{}")
	// Another access request of ada's is still under way: it must not write
	// a report of the erased data afterwards.
	must(t, e.store.Create(ctx, &dsr.Request{ID: "01JDRUNNING", Type: dsr.TypeAccess, Status: dsr.StatusAwaitingVerification, SubjectKey: "key-ada", Email: "ada@example.com"}))
	must(t, e.store.Transition(ctx, "01JDRUNNING", dsr.StatusAwaitingVerification, dsr.StatusQueued, e.now, dsr.Changes{}))
	must(t, e.store.Transition(ctx, "01JDRUNNING", dsr.StatusQueued, dsr.StatusInProgress, e.now, dsr.Changes{PlannedPurposes: []string{"marketing"}}))
	e.reports.reports["01JDRUNNING/parts/marketing/0"] = []byte("{}")
	e.reports.reports["01JDOTHER/report.json"] = []byte("{}")

	e.runAll(t)

	if keys := e.tables.keysOf("marketing", "ada@example.com"); len(keys) != 0 {
		t.Errorf("ada's marketing items left: %v", keys)
	}
	if keys := e.tables.keysOf("marketing", "grace@example.com"); len(keys) != 4 {
		t.Errorf("grace's items touched: %d left", len(keys))
	}
	until := time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, k := range e.tables.keysOf("billing", "ada@example.com") {
		r := e.tables.items["billing"][k].restriction
		if r == nil || r.Reason != dsr.RestrictionStatutory || !r.Until.Equal(until) || r.RequestID != e.id {
			t.Errorf("billing item %s restriction %+v", k, r)
		}
	}
	if _, ok := e.reports.reports["01JDACCESS/report.json"]; ok {
		t.Error("earlier access report not deleted")
	}
	if running, _ := e.store.Get(ctx, "01JDRUNNING"); running.Status != dsr.StatusFailed || !strings.Contains(running.FailureReason, "superseded") {
		t.Errorf("running access request: %s %q, want failed as superseded", running.Status, running.FailureReason)
	}
	if got := e.audit.Actions("01JDRUNNING"); !slices.Equal(got, []dsr.AuditAction{dsr.AuditFailed}) {
		t.Errorf("superseded request's trail: %v", got)
	}
	if got := e.audit.Actions(e.id); !slices.Equal(got, []dsr.AuditAction{dsr.AuditPurposeDone, dsr.AuditPurposeDone, dsr.AuditCompleted}) {
		t.Errorf("erasure's trail: %v", got)
	}
	if _, ok := e.reports.reports["01JDRUNNING/parts/marketing/0"]; ok {
		t.Error("the running access request's parts were not deleted")
	}
	if _, ok := e.reports.reports["01JDOTHER/report.json"]; !ok {
		t.Error("someone else's report deleted")
	}
	r, _ := e.store.Get(ctx, e.id)
	if r.Status != dsr.StatusCompleted || r.Result == nil || r.Result.CertificateKey != e.id+"/certificate.json" || r.ObjectionDecisions != nil {
		t.Fatalf("request: %+v", r)
	}
	c := e.certificate(t)
	o := outcomes(c)
	if m := o["marketing"]; m.ItemsDeleted != 35 || m.Action != dsr.ActionDelete || !m.Verified || m.ReadBack.Unrestricted != 0 {
		t.Errorf("marketing outcome: %+v", m)
	}
	if b := o["billing"]; b.ItemsRestricted != 3 || b.ItemsDeleted != 0 || b.RestrictedUntil == nil || !b.RestrictedUntil.Equal(until) || b.ReadBack.Restricted != 3 || !b.Verified {
		t.Errorf("billing outcome: %+v", b)
	}
	if c.EarlierReportsDeleted != 1 || len(c.CopiesElsewhere) != 1 || c.Recipients == nil ||
		!cmp.Equal(c.Suppress.Purposes, []string{dsr.ScopeAll}) || c.Suppress.Reason != dsr.SuppressedByErasure {
		t.Errorf("certificate: %+v", c)
	}
	raw := string(e.reports.reports[e.id+"/certificate.json"])
	for _, personal := range []string{"ada@", "example.com", "key-ada", "marketing-ada"} {
		if strings.Contains(raw, personal) {
			t.Errorf("certificate holds %q:\n%s", personal, raw)
		}
	}
	// A redelivered task after completion changes nothing.
	before := string(e.reports.reports[e.id+"/certificate.json"])
	if failed := e.deliver(t, ctx, "marketing"); len(failed) != 0 || string(e.reports.reports[e.id+"/certificate.json"]) != before || e.reports.writes[e.id+"/certificate.json"] != 1 {
		t.Error("redelivery after completion changed the certificate")
	}
}

// TestErasureRedeliveryCountsOnce fails a task after it deleted two pages,
// and lets SQS deliver it again: the count is exact, neither doubled nor
// missing the pages the first delivery deleted.
func TestErasureRedeliveryCountsOnce(t *testing.T) {
	e := newEraseEnv(t, dsr.Request{Type: dsr.TypeErasure})
	e.tables.add("marketing", "ada@example.com", 45)
	e.tables.add("billing", "ada@example.com", 2)
	e.tables.failDelete = 3
	ctx := context.Background()
	if failed := e.deliver(t, ctx, "marketing"); len(failed) != 1 {
		t.Fatalf("first delivery should fail on the third page, failed %v", failed)
	}
	if left := len(e.tables.keysOf("marketing", "ada@example.com")); left != 25 {
		t.Fatalf("%d left after two pages", left)
	}
	// The same message again, twice (SQS may deliver more than once).
	for range 2 {
		if failed := e.deliver(t, ctx, "marketing"); len(failed) != 0 {
			t.Fatalf("redelivery failed")
		}
	}
	if failed := e.deliver(t, ctx, "billing"); len(failed) != 0 {
		t.Fatal("billing failed")
	}
	o := outcomes(e.certificate(t))
	if o["marketing"].ItemsDeleted != 45 || o["billing"].ItemsRestricted != 2 {
		t.Errorf("counts: marketing %d deleted, billing %d restricted; want 45 and 2", o["marketing"].ItemsDeleted, o["billing"].ItemsRestricted)
	}
}

func TestErasureReadBackRemovesWhatReappears(t *testing.T) {
	e := newEraseEnv(t, dsr.Request{Type: dsr.TypeErasure})
	e.tables.add("marketing", "ada@example.com", 5)
	e.tables.add("billing", "ada@example.com", 1)
	once := sync.Once{}
	e.tables.onSurvey = func(f *fakeTables, purpose string) {
		if purpose == "marketing" {
			// The CRM re-imports ada while the erasure runs.
			once.Do(func() {
				f.mu.Lock()
				f.items["marketing"]["marketing-ada-late"] = &fakeItem{subject: "ada@example.com"}
				f.mu.Unlock()
			})
		}
	}
	e.runAll(t)
	m := outcomes(e.certificate(t))["marketing"]
	if len(e.tables.keysOf("marketing", "ada@example.com")) != 0 || m.ItemsDeleted != 6 || m.ReadBack.Fixed != 1 || !m.Verified {
		t.Errorf("marketing after a re-import: %+v", m)
	}
}

func TestObjectionToDirectMarketingTouchesNothingElse(t *testing.T) {
	e := newEraseEnv(t, dsr.Request{Type: dsr.TypeObjection, Scope: dsr.ScopeDirectMarketing})
	e.tables.add("marketing", "ada@example.com", 12)
	e.tables.add("billing", "ada@example.com", 2)
	e.runAll(t)
	if len(e.tables.keysOf("marketing", "ada@example.com")) != 0 {
		t.Error("marketing items left")
	}
	for _, k := range e.tables.keysOf("billing", "ada@example.com") {
		if e.tables.items["billing"][k].restriction != nil {
			t.Errorf("billing item %s restricted by a marketing objection", k)
		}
	}
	r, _ := e.store.Get(context.Background(), e.id)
	c := e.certificate(t)
	if r.Status != dsr.StatusCompleted || len(c.Purposes) != 1 || c.Purposes[0].ItemsDeleted != 12 || r.ObjectionDecisions != nil ||
		!cmp.Equal(c.Suppress.Purposes, []string{dsr.ScopeDirectMarketing}) || c.Scope != dsr.ScopeDirectMarketing {
		t.Errorf("request %+v, certificate %+v", r, c)
	}
}

func TestObjectionToLegitimateInterestRestrictsPendingDecision(t *testing.T) {
	e := newEraseEnv(t, dsr.Request{Type: dsr.TypeObjection, Purposes: []string{"billing"}, Grounds: "moved"})
	e.tables.add("billing", "ada@example.com", 3)
	// One item is under a statutory restriction already: it stays so.
	statutory := dsr.Restriction{Reason: dsr.RestrictionStatutory, Until: time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC)}
	e.tables.items["billing"]["billing-ada@example.com-00000"].restriction = &statutory
	e.runAll(t)
	for k, it := range e.tables.items["billing"] {
		want := dsr.RestrictionObjection
		if k == "billing-ada@example.com-00000" {
			want = dsr.RestrictionStatutory
		}
		if it.restriction == nil || it.restriction.Reason != want {
			t.Errorf("item %s: %+v, want %s", k, it.restriction, want)
		}
	}
	r, _ := e.store.Get(context.Background(), e.id)
	b := outcomes(e.certificate(t))["billing"]
	if !cmp.Equal(r.ObjectionDecisions, map[string]string{"billing": dsr.DecisionPending}) || !b.DecisionPending || b.ItemsRestricted != 3 || b.RestrictedUntil != nil {
		t.Errorf("decisions %v, outcome %+v", r.ObjectionDecisions, b)
	}
}

func TestErasureCheckpointsBeforeTheDeadline(t *testing.T) {
	e := newEraseEnv(t, dsr.Request{Type: dsr.TypeErasure})
	e.tables.add("marketing", "ada@example.com", 25)
	e.tables.add("billing", "ada@example.com", 1)
	e.h.Reserve = time.Hour // always near the deadline: one page per invocation
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if failed := e.deliver(t, ctx, "marketing"); len(failed) != 0 {
		t.Fatal("first page failed")
	}
	for i := 0; len(e.queue.tasks) > 0; i++ {
		if i > 10 {
			t.Fatal("continuations do not end")
		}
		next := e.queue.tasks[0]
		e.queue.tasks = e.queue.tasks[1:]
		resp, err := e.h.Handle(ctx, sqsEvent(t, next))
		must(t, err)
		if len(resp.BatchItemFailures) != 0 {
			t.Fatal("continuation failed")
		}
	}
	e.h.Reserve = time.Second
	e.deliver(t, ctx, "billing")
	if m := outcomes(e.certificate(t))["marketing"]; m.ItemsDeleted != 25 || len(e.tables.keysOf("marketing", "ada@example.com")) != 0 {
		t.Errorf("after continuations: %+v", m)
	}
}

func sqsEvent(t *testing.T, m dsr.Message) events.SQSEvent {
	return events.SQSEvent{Records: []events.SQSMessage{task(t, "msg-"+m.Request(), m)}}
}

// flakyStore fails MarkPartDone once, as a crash between the read-back and
// the progress record would.
type flakyStore struct {
	*memstore.Requests
	failed bool
}

func (s *flakyStore) MarkPartDone(ctx context.Context, id, purpose string, chunks int, now time.Time) (*dsr.Request, bool, error) {
	if !s.failed {
		s.failed = true
		return nil, false, errors.New("connection reset")
	}
	return s.Requests.MarkPartDone(ctx, id, purpose, chunks, now)
}

// TestRedeliveryKeepsTheFirstReadBack: a delivery that read back but could
// not record its progress is redelivered; the redelivery finds the read-back
// chunk and does not read back again, so what it certifies is what was read.
func TestRedeliveryKeepsTheFirstReadBack(t *testing.T) {
	e := newEraseEnv(t, dsr.Request{Type: dsr.TypeErasure})
	e.tables.add("marketing", "ada@example.com", 15)
	e.tables.add("billing", "ada@example.com", 1)
	e.h.Requests = &flakyStore{Requests: e.store}
	surveys := 0
	e.tables.onSurvey = func(_ *fakeTables, purpose string) {
		if purpose == "marketing" {
			surveys++
		}
	}
	ctx := context.Background()
	if failed := e.deliver(t, ctx, "marketing"); len(failed) != 1 {
		t.Fatal("the first delivery should fail to record its progress")
	}
	if failed := e.deliver(t, ctx, "marketing"); len(failed) != 0 {
		t.Fatal("redelivery failed")
	}
	e.deliver(t, ctx, "billing")
	m := outcomes(e.certificate(t))["marketing"]
	if surveys != 1 || m.ItemsDeleted != 15 || !m.Verified {
		t.Errorf("%d read-backs, outcome %+v; want one read-back and 15 deleted", surveys, m)
	}
}

// TestObjectionDecisionApplied: a DPO's decision on an objection to a
// legitimate-interest purpose is applied to every page: upheld erases the
// items, overridden lifts only this objection's marks; a redelivery after
// that does nothing.
func TestObjectionDecisionApplied(t *testing.T) {
	for _, outcome := range []string{dsr.DecisionUpheld, dsr.DecisionOverridden} {
		t.Run(outcome, func(t *testing.T) {
			e := newEraseEnv(t, dsr.Request{Type: dsr.TypeObjection, Purposes: []string{"billing"}, Grounds: "moved"})
			e.tables.add("billing", "ada@example.com", 25)
			e.tables.add("billing", "grace@example.com", 2)
			// One of ada's items carries a statutory mark: an override leaves it.
			statutory := dsr.Restriction{Reason: dsr.RestrictionStatutory, RequestID: "01JDOTHER"}
			e.tables.items["billing"]["billing-ada@example.com-00000"].restriction = &statutory
			// Billing's data went to a printer: told of the restriction, and of the erasure if upheld.
			prov, notices := &memstore.Provenance{}, &fakeNotices{}
			e.h.Provenance, e.h.Notices = prov, notices
			putProvenance(t, prov, "key-ada", "billing", dsr.ProvenanceEvent{Event: dsr.EventDisclosed, Recipient: "Example Print GmbH", Country: "DE", At: e.now.AddDate(0, -1, 0)})
			e.runAll(t)
			if len(notices.sent) != 1 || notices.sent[0].Purposes[0].Action != dsr.ActionRestrict {
				t.Fatalf("notices of the objection: %+v", notices.sent)
			}
			ctx := context.Background()
			must(t, e.store.SetDecision(ctx, e.id, "billing", dsr.DecisionPending, dsr.Applying(outcome), e.now))
			task := dsr.DecisionMessage{RequestID: e.id, Purpose: "billing", Decision: outcome}
			for range 2 { // the second is a redelivery
				resp, err := e.h.Handle(ctx, sqsEvent(t, task))
				must(t, err)
				if len(resp.BatchItemFailures) != 0 {
					t.Fatal("decision task failed")
				}
			}
			left := e.tables.keysOf("billing", "ada@example.com")
			restricted := 0
			for _, k := range left {
				if e.tables.items["billing"][k].restriction != nil {
					restricted++
				}
			}
			kept, _ := prov.Subject(ctx, "key-ada", "", time.Time{})
			switch outcome {
			case dsr.DecisionUpheld:
				if len(left) != 0 {
					t.Errorf("%d of ada's items left after an upheld objection", len(left))
				}
				// One erasure notice (the redelivery finds the decision applied), under a new id.
				if len(notices.sent) != 2 || notices.sent[1].Purposes[0].Action != dsr.ActionDelete || notices.sent[1].NoticeID == notices.sent[0].NoticeID {
					t.Errorf("notices after upholding: %+v", notices.sent)
				}
				if len(kept) != 0 {
					t.Errorf("provenance of the erased purpose kept: %+v", kept)
				}
			default:
				if len(notices.sent) != 1 || len(kept) != 1 {
					t.Errorf("an override sends no notice and keeps the provenance: %+v, %+v", notices.sent, kept)
				}
				if len(left) != 25 || restricted != 1 {
					t.Errorf("after an override: %d items, %d restricted; want 25 and the statutory one", len(left), restricted)
				}
			}
			if n := len(e.tables.keysOf("billing", "grace@example.com")); n != 2 {
				t.Errorf("grace's items: %d", n)
			}
			r, _ := e.store.Get(ctx, e.id)
			if r.ObjectionDecisions["billing"] != outcome {
				t.Errorf("decision %q, want %q", r.ObjectionDecisions["billing"], outcome)
			}
			if got := e.audit.Actions(e.id); got[len(got)-1] != dsr.AuditObjectionApplied || slices.Index(got, dsr.AuditObjectionApplied) != len(got)-1 {
				t.Errorf("trail %v: want one objection_applied at the end", got)
			}
		})
	}
}

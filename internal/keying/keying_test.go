package keying_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
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
	"github.com/privacyops/dsr/internal/keying"
	"github.com/privacyops/dsr/internal/memstore"
)

// record is one item of a fake purpose table.
type record struct {
	identifier *string
	key        string
}

// fakeContacts are purpose tables: purpose → ref → record.
type fakeContacts struct {
	mu      sync.Mutex
	tables  map[string]map[string]*record
	writes  map[string]int   // ref → subject keys written
	beforeW func(ref string) // runs before each conditional write (a concurrent CRM write)
}

func newContacts() *fakeContacts {
	return &fakeContacts{tables: map[string]map[string]*record{}, writes: map[string]int{}}
}

func (f *fakeContacts) put(purpose, ref string, identifier *string, key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tables[purpose] == nil {
		f.tables[purpose] = map[string]*record{}
	}
	f.tables[purpose][ref] = &record{identifier: identifier, key: key}
}

func (f *fakeContacts) get(purpose, ref string) record {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.tables[purpose][ref]
}

func (f *fakeContacts) SetSubjectKey(_ context.Context, p dsr.Purpose, ref, identifier, key string) (bool, error) {
	if f.beforeW != nil {
		f.beforeW(ref)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.tables[p.Name][ref]
	if !ok || r.identifier == nil || *r.identifier != identifier || r.key == key {
		return false, nil
	}
	r.key = key
	f.writes[ref]++
	return true, nil
}

func (f *fakeContacts) ClearSubjectKey(_ context.Context, p dsr.Purpose, ref string, identifier *string, key string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.tables[p.Name][ref]
	if !ok || r.key != key || (identifier == nil) != (r.identifier == nil) || identifier != nil && *identifier != *r.identifier {
		return false, nil
	}
	r.key = ""
	f.writes[ref]++
	return true, nil
}

func segmentOf(ref string, total int) int {
	h := fnv.New32a()
	h.Write([]byte(ref))
	return int(h.Sum32() % uint32(total))
}

func (f *fakeContacts) ScanSegment(_ context.Context, p dsr.Purpose, segment, total int, cursor string, limit int) ([]dsr.KeyState, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var refs []string
	for ref := range f.tables[p.Name] {
		if segmentOf(ref, total) == segment && ref > cursor {
			refs = append(refs, ref)
		}
	}
	slices.Sort(refs)
	next := ""
	if len(refs) > limit {
		refs, next = refs[:limit], refs[limit-1]
	}
	out := make([]dsr.KeyState, 0, len(refs))
	for _, ref := range refs {
		r := f.tables[p.Name][ref]
		out = append(out, dsr.KeyState{Ref: ref, Identifier: r.identifier, SubjectKey: r.key})
	}
	return out, next, nil
}

func str(s string) *string { return &s }

type env struct {
	contacts *fakeContacts
	ledger   *memstore.Keying
	keyer    *keying.Keyer
	hasher   *dsr.Hasher
	reg      dsr.Registry
	now      time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	h, err := dsr.NewHasher([]byte("test pepper, long enough to use"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{contacts: newContacts(), ledger: &memstore.Keying{}, hasher: h, reg: dsrtest.Registry(t), now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	e.keyer = &keying.Keyer{Contacts: e.contacts, Ledger: e.ledger, Hasher: h, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	return e
}

func TestKey(t *testing.T) {
	ada := "ada@example.com"
	for _, tc := range []struct {
		name       string
		identifier *string
		want       string // the address whose key the record gets; "" none
		outcome    keying.Outcome
	}{
		{"upper case", str("ADA@EXAMPLE.COM"), ada, keying.Keyed},
		{"spaces and mixed case", str(" Ada@Example.com "), ada, keying.Keyed},
		{"upper-case domain", str("ada@EXAMPLE.com"), ada, keying.Keyed},
		{"IDN domain", str("ada@EXÄMPLE.com"), "ada@xn--exmple-cua.com", keying.Keyed},
		{"A-label", str("ada@xn--exmple-cua.com"), "ada@xn--exmple-cua.com", keying.Keyed},
		{"a look-alike is its own person", str("nada@example.com"), "nada@example.com", keying.Keyed},
		{"a sub-address is its own person", str("ada+news@example.com"), "ada+news@example.com", keying.Keyed},
		{"not an address", str("ada at example"), "", keying.Unkeyable},
		{"a zero-width space", str("ada\u200b@example.com"), "", keying.Unkeyable},
		{"no identifier", nil, "", keying.Unkeyable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p, _ := e.reg.Lookup("marketing")
			e.contacts.put(p.Name, "r1", tc.identifier, "")
			got, err := e.keyer.Key(context.Background(), p, dsr.KeyState{Ref: "r1", Identifier: tc.identifier}, e.now)
			if err != nil || got != tc.outcome {
				t.Fatalf("Key: %v %v, want %v", got, err, tc.outcome)
			}
			want := ""
			if tc.want != "" {
				want = e.hasher.Subject(tc.want)
			}
			if k := e.contacts.get(p.Name, "r1").key; k != want {
				t.Errorf("key %q, want that of %q", k, tc.want)
			}
			if d, _ := e.ledger.UnkeyableDigest(context.Background(), "2026-12-01"); (d["marketing"] == 1) != (tc.outcome == keying.Unkeyable) {
				t.Errorf("unkeyable digest %v", d)
			}
		})
	}
}

// A record whose address the CRM made unusable (or removed) is linked to no
// one any more: it loses the key it held, so nobody's request finds it.
func TestUnusableAddressLosesTheKey(t *testing.T) {
	for _, tc := range []struct {
		name       string
		identifier *string
	}{
		{"not an address", str("Ada <ada@example.com>")},
		{"removed", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p, _ := e.reg.Lookup("marketing")
			adaKey := e.hasher.Subject("ada@example.com")
			e.contacts.put(p.Name, "r1", tc.identifier, adaKey)
			got, err := e.keyer.Key(context.Background(), p, dsr.KeyState{Ref: "r1", Identifier: tc.identifier, SubjectKey: adaKey}, e.now)
			if err != nil || got != keying.Unkeyable {
				t.Fatalf("Key: %v %v, want unkeyable", got, err)
			}
			if k := e.contacts.get(p.Name, "r1").key; k != "" {
				t.Errorf("the record still holds a key")
			}
		})
	}
}

// The write of the key comes back on the stream as a change: a record that
// holds its key is not written again, so the consumer does not loop.
func TestKeyedRecordIsNotWrittenAgain(t *testing.T) {
	e := newEnv(t)
	p, _ := e.reg.Lookup("marketing")
	e.contacts.put(p.Name, "r1", str("ADA@example.com"), "")
	for range 3 {
		st := dsr.KeyState{Ref: "r1", Identifier: str("ADA@example.com"), SubjectKey: e.contacts.get(p.Name, "r1").key}
		if _, err := e.keyer.Key(context.Background(), p, st, e.now); err != nil {
			t.Fatal(err)
		}
	}
	if e.contacts.writes["r1"] != 1 {
		t.Errorf("%d writes, want 1", e.contacts.writes["r1"])
	}
}

// A record an erasure restricted holds its subject key in place of the
// address (Purpose.RetainedAttributes): the stream's change record of that
// rewrite keeps its key, with no write and nothing unkeyable, so the
// subject's requests still find it and the retention job can delete it.
func TestRestrictedRecordKeepsItsKey(t *testing.T) {
	e := newEnv(t)
	p, _ := e.reg.Lookup("billing")
	adaKey := e.hasher.Subject("ada@example.com")
	e.contacts.put(p.Name, "r1", str(adaKey), adaKey)
	got, err := e.keyer.Key(context.Background(), p, dsr.KeyState{Ref: "r1", Identifier: str(adaKey), SubjectKey: adaKey}, e.now)
	if err != nil || got != keying.Current {
		t.Fatalf("Key: %v %v, want current", got, err)
	}
	if k := e.contacts.get(p.Name, "r1").key; k != adaKey || e.contacts.writes["r1"] != 0 {
		t.Errorf("key %q after %d writes, want ada's, untouched", k, e.contacts.writes["r1"])
	}
	if d, _ := e.ledger.UnkeyableDigest(context.Background(), "2026-12-01"); len(d) != 0 {
		t.Errorf("unkeyable digest %v, want none", d)
	}
	// Another record's key in the identifier is no key of this record's.
	graceKey := e.hasher.Subject("grace@example.com")
	e.contacts.put(p.Name, "r2", str(graceKey), adaKey)
	if got, err := e.keyer.Key(context.Background(), p, dsr.KeyState{Ref: "r2", Identifier: str(graceKey), SubjectKey: adaKey}, e.now); err != nil || got != keying.Unkeyable {
		t.Errorf("a foreign key as identifier: %v %v, want unkeyable", got, err)
	}
}

// A change of the address moves the record to its new person; a change
// that races the write is not overwritten with the old address's key.
func TestChangedAddressMovesTheKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p, _ := e.reg.Lookup("marketing")
	adaKey, graceKey := e.hasher.Subject("ada@example.com"), e.hasher.Subject("grace@example.com")
	e.contacts.put(p.Name, "r1", str("grace@example.com"), adaKey) // the CRM changed it from ada
	if o, err := e.keyer.Key(ctx, p, dsr.KeyState{Ref: "r1", Identifier: str("grace@example.com"), SubjectKey: adaKey}, e.now); err != nil || o != keying.Keyed {
		t.Fatalf("%v %v", o, err)
	}
	if got := e.contacts.get(p.Name, "r1").key; got != graceKey {
		t.Errorf("key is not grace's")
	}
	// The stream reports ada's address while the CRM already wrote bob's.
	e.contacts.beforeW = func(string) { e.contacts.put(p.Name, "r1", str("bob@example.com"), graceKey) }
	if o, err := e.keyer.Key(ctx, p, dsr.KeyState{Ref: "r1", Identifier: str("ada@example.com"), SubjectKey: graceKey}, e.now); err != nil || o != keying.Current {
		t.Fatalf("a write that lost the race: %v %v, want Current", o, err)
	}
	if got := e.contacts.get(p.Name, "r1").key; got == adaKey {
		t.Error("the record was keyed for the old address")
	}
}

// streamRecord is a stream record of table's item ref with identifier.
func streamRecord(seq, ref string, identifier *string) events.DynamoDBEventRecord {
	rec := events.DynamoDBEventRecord{EventName: "MODIFY", EventSourceArn: "arn:aws:dynamodb:us-east-1:1:table/T-marketing/stream/2026", EventID: seq}
	rec.Change.SequenceNumber = seq
	rec.Change.Keys = map[string]events.DynamoDBAttributeValue{"contactId": events.NewStringAttribute(ref)}
	rec.Change.NewImage = map[string]events.DynamoDBAttributeValue{"contactId": events.NewStringAttribute(ref)}
	if identifier != nil {
		rec.Change.NewImage["email"] = events.NewStringAttribute(*identifier)
	}
	return rec
}

// failingContacts fails the write of one record.
type failingContacts struct {
	*fakeContacts
	fail string
}

func (f failingContacts) SetSubjectKey(ctx context.Context, p dsr.Purpose, ref, identifier, key string) (bool, error) {
	if ref == f.fail {
		return false, errors.New("throttled")
	}
	return f.fakeContacts.SetSubjectKey(ctx, p, ref, identifier, key)
}

func TestHandlerStopsAtTheFirstFailure(t *testing.T) {
	e := newEnv(t)
	for _, ref := range []string{"a", "b", "c"} {
		e.contacts.put("marketing", ref, str(ref+"@example.com"), "")
	}
	e.keyer.Contacts = failingContacts{e.contacts, "b"}
	h := &keying.Handler{Keyer: e.keyer, Registry: e.reg, Log: e.keyer.Log, Read: readFake}
	ev := events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		streamRecord("1", "a", str("a@example.com")), streamRecord("2", "b", str("b@example.com")), streamRecord("3", "c", str("c@example.com")),
		{EventName: "REMOVE", EventSourceArn: "arn:aws:dynamodb:us-east-1:1:table/T-marketing/stream/2026"},
	}}
	resp, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]events.DynamoDBBatchItemFailure{{ItemIdentifier: "2"}}, resp.BatchItemFailures); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	if e.contacts.get("marketing", "a").key == "" || e.contacts.get("marketing", "c").key != "" {
		t.Error("want a keyed, and nothing after the failed record")
	}
	if resp, _ := h.Handle(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		{EventName: "INSERT", EventSourceArn: "arn:aws:dynamodb:us-east-1:1:table/Unknown/stream/2026"}}}); len(resp.BatchItemFailures) != 1 {
		t.Error("a record of a table the registry does not know was not reported")
	}
}

// readFake reads the test's stream records: the fake's refs are the
// contactId values.
func readFake(rec events.DynamoDBEventRecord, p dsr.Purpose) (dsr.KeyState, bool, error) {
	if rec.EventName == "REMOVE" {
		return dsr.KeyState{}, false, nil
	}
	st := dsr.KeyState{Ref: rec.Change.Keys["contactId"].String()}
	if v, ok := rec.Change.NewImage[p.Identifier]; ok {
		s := v.String()
		st.Identifier = &s
	}
	return st, true, nil
}

// stoppingPasses fails every n-th segment checkpoint, as a run that stops
// (its deadline, a crash) right after a page.
type stoppingPasses struct {
	*memstore.Keying
	mu    sync.Mutex
	saves int
	every int
}

func (s *stoppingPasses) SaveSegment(ctx context.Context, purpose string, seg dsr.BackfillSegment) error {
	if err := s.Keying.SaveSegment(ctx, purpose, seg); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	if s.saves%s.every == 0 {
		return errors.New("stopped")
	}
	return nil
}

type noContinue struct{}

func (noContinue) ContinueBackfill(context.Context, string) error { return nil }

// A backfill over 20,000 records, stopped after every page it checkpoints,
// resumes each time where it was and keys every record exactly once.
func TestBackfillStoppedAndResumed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 20_000
	for i := range n {
		var key string
		if i%10 == 0 {
			key = e.hasher.Subject(fmt.Sprintf("p%05d@example.net", i)) // keyed by the stream already
		}
		e.contacts.put("marketing", fmt.Sprintf("r%05d", i), str(fmt.Sprintf(" P%05d@Example.NET", i)), key)
	}
	e.contacts.put("marketing", "r-bad", str("not an address"), "")
	passes := &stoppingPasses{Keying: e.ledger, every: 1}
	b := &keying.Backfill{Keyer: e.keyer, Passes: passes, Continue: noContinue{}, Registry: e.reg, Log: e.keyer.Log,
		Clock: func() time.Time { return e.now }}
	runs := 0
	var sum keying.Summary
	for ; runs < 1000; runs++ {
		var err error
		if sum, err = b.Run(ctx, keying.Request{Purpose: "marketing"}); err == nil && sum.Complete {
			break
		}
	}
	t.Logf("%d runs", runs+1)
	if !sum.Complete || runs < n/keying.PageSize/keying.Segments {
		t.Fatalf("after %d runs: %+v", runs+1, sum)
	}
	keyed := 0
	for ref, w := range e.contacts.writes {
		if w != 1 {
			t.Fatalf("%s keyed %d times", ref, w)
		}
		keyed++
	}
	if keyed != n-n/10 {
		t.Errorf("%d records keyed, want %d (the tenth keyed already)", keyed, n-n/10)
	}
	for i := range n {
		if got := e.contacts.get("marketing", fmt.Sprintf("r%05d", i)).key; got != e.hasher.Subject(fmt.Sprintf("p%05d@example.net", i)) {
			t.Fatalf("r%05d has the wrong key", i)
		}
	}
	if d, _ := e.ledger.UnkeyableDigest(ctx, "2026-12-01"); d["marketing"] != 1 {
		t.Errorf("unkeyable %v, want the one record", d)
	}
	if keyed, _ := e.ledger.Keyed(ctx, []string{"marketing"}); !keyed["marketing"] {
		t.Error("the purpose is not marked keyed")
	}
	// A complete pass is not run again unless asked.
	again, err := b.Run(ctx, keying.Request{Purpose: "marketing"})
	if err != nil || !again.Complete || again.Scanned != 0 {
		t.Errorf("rerun: %+v %v", again, err)
	}
}

func (e *env) backfill() *keying.Backfill {
	return &keying.Backfill{Keyer: e.keyer, Passes: e.ledger, Continue: noContinue{}, Registry: e.reg, Log: e.keyer.Log,
		Clock: func() time.Time { return e.now }}
}

func TestBackfillInvoke(t *testing.T) {
	for _, tc := range []struct {
		name      string
		payload   string
		wantErr   bool
		summaries int      // of a direct request
		failures  []string // of an SQS batch
	}{
		{name: "every purpose", payload: `{"purpose":"*"}`, summaries: 2}, // dsrtest.Registry: marketing, billing
		{name: "one purpose, restarted", payload: `{"purpose":"marketing","restart":true}`, summaries: 1},
		{name: "unknown purpose", payload: `{"purpose":"sales"}`, wantErr: true},
		{name: "unknown field", payload: `{"purpose":"*","force":true}`, wantErr: true},
		{name: "no purpose", payload: `{}`, wantErr: true},
		{name: "not JSON", payload: `purpose=*`, wantErr: true},
		{name: "a discarded batch of a table of no purpose", payload: `{"Records":[{"messageId":"m3","body":"{\"timestamp\":\"2026-12-01T09:00:00Z\",\"DDBStreamBatchInfo\":{\"streamArn\":\"arn:aws:dynamodb:us-east-1:1:table/other/stream/x\"}}"}]}`,
			failures: []string{"m3"}},
		{name: "a discarded batch without its times", payload: `{"Records":[{"messageId":"m4","body":"{\"DDBStreamBatchInfo\":{\"streamArn\":\"arn:aws:dynamodb:us-east-1:1:table/T-marketing/stream/x\"}}"}]}`,
			failures: []string{"m4"}},
		{name: "continuations, one bad", payload: `{"Records":[{"messageId":"m1","body":"{\"purpose\":\"billing\"}"},{"messageId":"m2","body":"{\"purpose\":\"nope\"}"}]}`,
			failures: []string{"m2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.contacts.put("marketing", "r1", str("Ada@Example.com"), "")
			out, err := e.backfill().Invoke(context.Background(), json.RawMessage(tc.payload))
			if (err != nil) != tc.wantErr {
				t.Fatalf("Invoke: %s %v, want error %v", out, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if tc.failures != nil {
				var resp events.SQSEventResponse
				if err := json.Unmarshal(out, &resp); err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, f := range resp.BatchItemFailures {
					got = append(got, f.ItemIdentifier)
				}
				if !slices.Equal(got, tc.failures) {
					t.Errorf("failures %v, want %v", got, tc.failures)
				}
				return
			}
			var sums []keying.Summary
			if err := json.Unmarshal(out, &sums); err != nil || len(sums) != tc.summaries {
				t.Fatalf("summaries %s (%v), want %d", out, err, tc.summaries)
			}
			for _, s := range sums {
				if !s.Complete {
					t.Errorf("%+v not complete", s)
				}
			}
		})
	}
}

// FuzzBackfillInvoke: any payload gets an answer or an error, never a
// panic; an answer to a direct request is a summary per purpose run.
func FuzzBackfillInvoke(f *testing.F) {
	f.Add(`{"purpose":"*"}`)
	f.Add(`{"purpose":"marketing","restart":true}`)
	f.Add(`{"Records":[{"messageId":"m1","body":"{\"purpose\":\"billing\"}"}]}`)
	f.Add(`{"Records":[]}`)
	discarded, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: discardedBatch(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))}}})
	f.Add(string(discarded))
	f.Fuzz(func(t *testing.T, payload string) {
		e := newEnv(t)
		out, err := e.backfill().Invoke(context.Background(), json.RawMessage(payload))
		if err == nil && !json.Valid(out) {
			t.Fatalf("answer %q is not JSON", out)
		}
	})
}

// discardedBatch is the message Lambda sends to the keying function's
// on-failure destination, for marketing's table, at the given time.
func discardedBatch(at time.Time) string {
	b, _ := json.Marshal(map[string]any{
		"requestContext":  map[string]any{"requestId": "r1", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:keying", "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 11},
		"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": ""},
		"version":         "1.0",
		"timestamp":       at.Format(time.RFC3339Nano),
		"DDBStreamBatchInfo": map[string]any{
			"shardId": "shardId-0001", "startSequenceNumber": "100", "endSequenceNumber": "199",
			"approximateArrivalOfFirstRecord": at.Add(-time.Minute).Format(time.RFC3339), "approximateArrivalOfLastRecord": at.Add(-time.Minute).Format(time.RFC3339),
			"batchSize": 100, "streamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/T-marketing/stream/2026-11-13T09:17:36.123",
		},
	})
	return string(b)
}

// A stream batch Lambda discarded leaves records unkeyed that a complete
// pass says are keyed: its message starts a new pass over the table (the
// table counts as unkeyed until it completes), which keys them; a
// redelivery of the message goes on with that pass.
func TestDiscardedBatchStartsANewPass(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.backfill()
	if _, err := b.Run(ctx, keying.Request{Purpose: "marketing"}); err != nil {
		t.Fatal(err)
	}
	first, _ := e.ledger.Pass(ctx, "marketing")
	// The stream's batch with this record failed for good.
	e.contacts.put("marketing", "r-missed", str("Ada@Example.com"), "")
	e.now = e.now.Add(time.Hour)
	stop := &stoppingPasses{Keying: e.ledger, every: 1} // the new pass is interrupted at once
	b.Passes = stop
	ev, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: discardedBatch(e.now.Add(-time.Minute))}}})
	msg := func() string { return string(ev) }
	if out, err := b.Invoke(ctx, json.RawMessage(msg())); err != nil || !strings.Contains(string(out), "m1") {
		t.Fatalf("interrupted run: %s %v, want message m1 failed", out, err)
	}
	second, _ := e.ledger.Pass(ctx, "marketing")
	if !second.StartedAt.After(first.StartedAt) || second.Complete() {
		t.Fatalf("pass after the discarded batch: %+v, want a new one in progress", second)
	}
	if keyed, _ := e.ledger.Keyed(ctx, []string{"marketing"}); keyed["marketing"] {
		t.Error("the table counts as keyed while its new pass runs")
	}
	b.Passes = e.ledger
	e.now = e.now.Add(time.Minute)
	if out, err := b.Invoke(ctx, json.RawMessage(msg())); err != nil || strings.Contains(string(out), "m1") {
		t.Fatalf("redelivery: %s %v", out, err)
	}
	third, _ := e.ledger.Pass(ctx, "marketing")
	if !third.StartedAt.Equal(second.StartedAt) || !third.Complete() {
		t.Errorf("the redelivery started another pass or did not complete it: %+v", third)
	}
	if e.contacts.get("marketing", "r-missed").key != e.hasher.Subject("ada@example.com") {
		t.Error("the record of the discarded batch is not keyed")
	}
}

//go:build integration

package dynamo_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/devstack/provision/provisiontest"
	"github.com/privacyops/dsr/internal/devstack/samtemplate"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
	"github.com/privacyops/dsr/internal/storetest"
)

// provisioned creates the template's resources under a fresh prefix.
func provisioned(t *testing.T) (*dynamodb.Client, samtemplate.Names) {
	t.Helper()
	cfg, names := provisiontest.Provisioned(t, "ddb")
	return dynamodb.NewFromConfig(cfg), names
}

// emulatorOptions are the contract suites' options for the emulator. moto
// does not serialize conditional writes to one item under parallel requests
// (DynamoDB does): the concurrency cases run one call after another there,
// which still checks every condition. Against an emulator that serializes
// them (LocalStack's DynamoDB), set DSR_EMULATOR_ATOMIC=true.
func emulatorOptions() storetest.Options {
	return storetest.Options{Sequential: os.Getenv("DSR_EMULATOR_ATOMIC") != "true"}
}

func TestRequestsContract(t *testing.T) {
	client, names := provisioned(t)
	storetest.Run(t, func(*testing.T) storetest.Store {
		return &dynamo.Requests{Client: client, Table: names["RequestsTable"].Ref, AuditTable: names["AuditTable"].Ref}
	}, emulatorOptions())
}

func TestSuppressionsContract(t *testing.T) {
	client, names := provisioned(t)
	storetest.RunSuppressions(t, func(*testing.T) storetest.SuppressionStore {
		return &dynamo.Suppressions{Client: client, Table: names["SuppressionTable"].Ref}
	})
}

func TestAuditContract(t *testing.T) {
	client, names := provisioned(t)
	storetest.RunAudit(t, func(*testing.T) storetest.AuditStore {
		requests, audit := names["RequestsTable"].Ref, names["AuditTable"].Ref
		return struct {
			*dynamo.Requests
			*dynamo.Audit
		}{&dynamo.Requests{Client: client, Table: requests, AuditTable: audit}, &dynamo.Audit{Client: client, Table: audit, RequestsTable: requests}}
	}, emulatorOptions())
}

func TestLimitsContract(t *testing.T) {
	client, names := provisioned(t)
	storetest.RunLimits(t, func(*testing.T) storetest.LimitStore {
		return &dynamo.Limits{Client: client, Table: names["LimitsTable"].Ref}
	}, emulatorOptions())
}

func TestKeyingContract(t *testing.T) {
	client, names := provisioned(t)
	storetest.RunKeying(t, func(*testing.T) storetest.KeyingStore {
		return &dynamo.Keying{Client: client, Table: names["KeyingTable"].Ref}
	})
}

func TestProvenanceContract(t *testing.T) {
	client, names := provisioned(t)
	storetest.RunProvenance(t, func(*testing.T) storetest.ProvenanceStore {
		return &dynamo.Provenance{Client: client, Table: names["ProvenanceTable"].Ref}
	}, emulatorOptions())
}

// countingAPI counts Query calls and items read.
type countingAPI struct {
	dynamo.API
	queries, items atomic.Int64
	throttleEvery  int64 // BatchWriteItem: leave every n-th call's second half unprocessed
	batches        atomic.Int64
}

func (c *countingAPI) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := c.API.Query(ctx, in, opts...)
	if err == nil {
		c.queries.Add(1)
		c.items.Add(int64(len(out.Items)))
	}
	return out, err
}

func (c *countingAPI) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	n := c.batches.Add(1)
	if c.throttleEvery > 0 && n%c.throttleEvery == 0 {
		// Inject UnprocessedItems: write only the first half now.
		for table, reqs := range in.RequestItems {
			half := len(reqs) / 2
			if _, err := c.API.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs[:half]}}, opts...); err != nil {
				return nil, err
			}
			return &dynamodb.BatchWriteItemOutput{UnprocessedItems: map[string][]types.WriteRequest{table: reqs[half:]}}, nil
		}
	}
	return c.API.BatchWriteItem(ctx, in, opts...)
}

// TestContactsFollowEveryPage puts 260 records of one subject (and others'
// around them) into a purpose table with UnprocessedItems injected, and reads
// them back through the subject index in pages of 25: every record, once,
// nobody else's, and no Scan.
func TestContactsFollowEveryPage(t *testing.T) {
	client, names := provisioned(t)
	api := &countingAPI{API: client, throttleEvery: 3}
	ctx := context.Background()
	table := names["MarketingTable"].Ref
	var items []map[string]types.AttributeValue
	for i := range 400 {
		email := "ada@example.com"
		if i%3 == 2 {
			email = fmt.Sprintf("other%03d@example.net", i)
		}
		av, err := attributevalue.MarshalMap(map[string]any{"contactId": fmt.Sprintf("c-%04d", i), "email": email, "dsrSubjectKey": email, "note": strings.Repeat("x", 50)})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, av)
	}
	if err := dynamo.BatchPut(ctx, api, table, items); err != nil {
		t.Fatal(err)
	}
	// The records are keyed with their address as their subject key, which
	// the keying function would hash: the index is the same.
	p := dsr.Purpose{Name: "marketing", Table: table, SubjectIndex: "by-subject", Identifier: "email", SubjectKeyAttribute: "dsrSubjectKey"}
	contacts := &dynamo.Contacts{Client: api, Limit: 25}
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("paging does not end")
		}
		recs, next, err := contacts.FindPage(ctx, p, keyedAsAddress("ada@example.com"), cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			id := r.Item["contactId"].(string)
			if seen[id] || r.Item["email"] != "ada@example.com" || r.Table != table {
				t.Fatalf("record %v seen twice or not ada's", r.Item)
			}
			seen[id] = true
		}
		if next == "" {
			break
		}
		if raw, _ := base64.RawURLEncoding.DecodeString(next); strings.Contains(string(raw), "ada@") {
			t.Fatalf("cursor %s carries the subject's address", raw)
		}
		cursor = next
	}
	want := 400 - 400/3
	if len(seen) != want {
		t.Errorf("read %d of ada's records, want %d", len(seen), want)
	}
	t.Logf("%d records in %d Query pages, %d items read; %d BatchWriteItem calls for %d items (every 3rd left half unprocessed)",
		len(seen), api.queries.Load(), api.items.Load(), api.batches.Load(), len(items))
}

// TestContactsEraseAndRestrict deletes one subject's items and restricts
// another's through the adapter, page by page, with UnprocessedItems
// injected: the read-back finds nothing of the first, only restricted items
// of the second, and everyone else untouched.
func TestContactsEraseAndRestrict(t *testing.T) {
	client, names := provisioned(t)
	api := &countingAPI{API: client, throttleEvery: 2}
	ctx := context.Background()
	table := names["BillingTable"].Ref
	var items []map[string]types.AttributeValue
	for i := range 300 {
		email := []string{"ada@example.com", "grace@example.com", "other@example.net"}[i%3]
		av, err := attributevalue.MarshalMap(map[string]any{"invoiceId": fmt.Sprintf("inv-%04d", i), "customerEmail": email, "dsrSubjectKey": email, "total": i})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, av)
	}
	if err := dynamo.BatchPut(ctx, api, table, items); err != nil {
		t.Fatal(err)
	}
	p := dsr.Purpose{Name: "billing", Table: table, SubjectIndex: "by-subject", Identifier: "customerEmail", SubjectKeyAttribute: "dsrSubjectKey"}
	contacts := &dynamo.Contacts{Client: api, Limit: 30, DueTable: names["ProvenanceTable"].Ref}
	each := func(subject string, fn func(refs []string)) int {
		n := 0
		for cursor, page := "", 0; ; page++ {
			if page > 50 {
				t.Fatal("paging does not end")
			}
			refs, next, err := contacts.KeysPage(ctx, p, keyedAsAddress(subject), cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range refs {
				if raw, _ := base64.RawURLEncoding.DecodeString(ref); strings.Contains(string(raw), "@") {
					t.Fatalf("key reference %s carries an address", raw)
				}
			}
			fn(refs)
			n += len(refs)
			if next == "" {
				return n
			}
			cursor = next
		}
	}
	if n := each("ada@example.com", func(refs []string) {
		if err := contacts.Delete(ctx, p, refs); err != nil {
			t.Fatal(err)
		}
	}); n != 100 {
		t.Errorf("found %d of ada's keys, want 100", n)
	}
	statutory := dsr.Restriction{Reason: dsr.RestrictionStatutory, RequestID: "R1", Since: time.Now(), Until: time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC), Overrides: true}
	objection := dsr.Restriction{Reason: dsr.RestrictionObjection, RequestID: "R2", Since: time.Now()}
	if n := each("grace@example.com", func(refs []string) {
		if err := contacts.Restrict(ctx, p, refs, statutory); err != nil {
			t.Fatal(err)
		}
		// A later objection does not override the statutory mark.
		if err := contacts.Restrict(ctx, p, refs, objection); err != nil {
			t.Fatal(err)
		}
	}); n != 100 {
		t.Errorf("found %d of grace's keys, want 100", n)
	}
	if left, err := contacts.Survey(ctx, p, keyedAsAddress("ada@example.com")); err != nil || len(left) != 0 {
		t.Errorf("ada's read-back: %d left (%v)", len(left), err)
	}
	got, err := contacts.Survey(ctx, p, keyedAsAddress("grace@example.com"))
	if err != nil || len(got) != 100 {
		t.Fatalf("grace's read-back: %d (%v)", len(got), err)
	}
	for _, it := range got {
		if !it.Restricted {
			t.Fatalf("grace's item %s is not restricted", it.Key)
		}
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: map[string]types.AttributeValue{"invoiceId": &types.AttributeValueMemberS{Value: "inv-0001"}}})
	if err != nil {
		t.Fatal(err)
	}
	var mark struct {
		Restriction map[string]string `dynamodbav:"dsrRestriction"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &mark); err != nil || mark.Restriction["reason"] != dsr.RestrictionStatutory || mark.Restriction["until"] != "2037-01-01T00:00:00.000Z" {
		t.Errorf("grace's mark: %v (%v)", mark.Restriction, err)
	}
	if left, err := contacts.Survey(ctx, p, keyedAsAddress("other@example.net")); err != nil || len(left) != 100 || left[0].Restricted {
		t.Errorf("someone else's items: %d, restricted %v (%v)", len(left), len(left) > 0 && left[0].Restricted, err)
	}
	// An overridden objection lifts its own marks only.
	if n := each("other@example.net", func(refs []string) {
		if err := contacts.Restrict(ctx, p, refs, dsr.Restriction{Reason: dsr.RestrictionObjection, RequestID: "R3", Since: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := contacts.Unrestrict(ctx, p, refs, "R4"); err != nil { // another request's: no effect
			t.Fatal(err)
		}
	}); n != 100 {
		t.Errorf("found %d of the other subject's keys", n)
	}
	if got, _ := contacts.Survey(ctx, p, keyedAsAddress("other@example.net")); len(got) != 100 || !got[0].Restricted {
		t.Error("another request lifted the objection's marks")
	}
	each("other@example.net", func(refs []string) {
		if err := contacts.Unrestrict(ctx, p, refs, "R3"); err != nil {
			t.Fatal(err)
		}
	})
	each("grace@example.com", func(refs []string) {
		if err := contacts.Unrestrict(ctx, p, refs, "R2"); err != nil { // statutory marks stay
			t.Fatal(err)
		}
	})
	for subject, restricted := range map[string]bool{"other@example.net": false, "grace@example.com": true} {
		got, err := contacts.Survey(ctx, p, keyedAsAddress(subject))
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range got {
			if it.Restricted != restricted {
				t.Fatalf("%s after unrestrict: restricted %v, want %v", subject, it.Restricted, restricted)
			}
		}
	}
	copies, err := contacts.Backups(ctx, p, time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC))
	if err != nil || len(copies) != 1 || copies[0].Until == nil || !copies[0].Until.Equal(time.Date(2027, 1, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("backups: %+v (%v), want the 35-day PITR window", copies, err)
	}
	t.Logf("%d Query pages, %d BatchWriteItem calls (every 2nd left half unprocessed)", api.queries.Load(), api.batches.Load())
}

// TestRestrictUntilEachRecordsDuty: with the registry's retentionFrom, each
// record is restricted until its own statutory duty ends; a record without a
// readable date gets the restriction's own (latest possible) date.
func TestRestrictUntilEachRecordsDuty(t *testing.T) {
	client, names := provisioned(t)
	ctx := context.Background()
	table := names["BillingTable"].Ref
	var items []map[string]types.AttributeValue
	for id, issued := range map[string]any{"d-2018": "2018-05-01", "d-2024": "2024-12-31T23:00:00Z", "d-none": nil, "d-bad": "someday"} {
		it := map[string]any{"invoiceId": id, "customerEmail": "dated@example.com", "dsrSubjectKey": "dated@example.com"}
		if issued != nil {
			it["issuedOn"] = issued
		}
		av, err := attributevalue.MarshalMap(it)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, av)
	}
	if err := dynamo.BatchPut(ctx, client, table, items); err != nil {
		t.Fatal(err)
	}
	p := dsr.Purpose{Name: "billing", Table: table, SubjectIndex: "by-subject", Identifier: "customerEmail", SubjectKeyAttribute: "dsrSubjectKey", RetentionYears: 10, RetentionFrom: "issuedOn"}
	contacts := &dynamo.Contacts{Client: client, DueTable: names["ProvenanceTable"].Ref}
	refs, _, err := contacts.KeysPage(ctx, p, keyedAsAddress("dated@example.com"), "")
	if err != nil || len(refs) != 4 {
		t.Fatalf("keys: %d (%v)", len(refs), err)
	}
	fallback := time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := contacts.Restrict(ctx, p, refs, dsr.Restriction{Reason: dsr.RestrictionStatutory, RequestID: "R1", Since: time.Now(), Until: fallback, Overrides: true}); err != nil {
		t.Fatal(err)
	}
	got, err := contacts.Survey(ctx, p, keyedAsAddress("dated@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	var untils []string
	for _, it := range got {
		untils = append(untils, it.Until.Format("2006-01-02"))
	}
	slices.Sort(untils)
	if want := []string{"2029-01-01", "2035-01-01", "2037-01-01", "2037-01-01"}; !slices.Equal(untils, want) {
		t.Errorf("restricted until %v, want %v", untils, want)
	}
}

// lostAnswerAPI puts (and updates) each item twice, as an SDK retry does when the first
// put took effect but its answer was lost: the caller sees the second
// answer, a failed condition.
type lostAnswerAPI struct{ dynamo.API }

func (l lostAnswerAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if _, err := l.API.PutItem(ctx, in, opts...); err != nil {
		return nil, err
	}
	return l.API.PutItem(ctx, in, opts...)
}

func (l lostAnswerAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if _, err := l.API.UpdateItem(ctx, in, opts...); err != nil {
		return nil, err
	}
	return l.API.UpdateItem(ctx, in, opts...)
}

func (l lostAnswerAPI) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if _, err := l.API.TransactWriteItems(ctx, in, opts...); err != nil {
		return nil, err
	}
	return l.API.TransactWriteItems(ctx, in, opts...)
}

// An unkeyable record whose write took effect is counted once in the day's
// digest when the answer was lost and the write retried (DynamoDB answers
// the retry of the same transaction as a success; an emulator that does not
// keep its token cancels it: either way nothing is counted twice or lost).
func TestUnkeyableCountedOnceWhenTheAnswerIsLost(t *testing.T) {
	client, names := provisioned(t)
	k := &dynamo.Keying{Client: lostAnswerAPI{client}, Table: names["KeyingTable"].Ref}
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, ref := range []string{"r1", "r2", "r1"} {
		if _, err := k.Unkeyable(ctx, "marketing", ref, dsr.UnkeyableInvalid, at); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := k.UnkeyableDigest(ctx, "2026-12-01"); err != nil || d["marketing"] != 2 {
		t.Errorf("digest %v %v, want marketing: 2 (two records, each once)", d, err)
	}
}

// received is the first step of a test request's trail.
func received(at time.Time) dsr.Step {
	return dsr.Step{Actor: dsr.ActorSubject, Action: dsr.AuditReceived, Detail: "access request", At: at}
}

// A request whose create took effect is created, with its trail, not
// answered as a conflict, when the answer was lost and the SDK's retry
// found the id taken.
func TestRequestCreatedOnceWhenTheAnswerIsLost(t *testing.T) {
	client, names := provisioned(t)
	s := &dynamo.Requests{Client: lostAnswerAPI{client}, Table: names["RequestsTable"].Ref, AuditTable: names["AuditTable"].Ref}
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r := awaitingRequest("01JC", "th-lost", at)
	if err := s.Create(ctx, r, received(at)); err != nil {
		t.Fatalf("create whose answer was lost: %v, want it created", err)
	}
	if got, err := s.Get(ctx, r.ID); err != nil || got.TokenHash != r.TokenHash || got.Trail.Seq != 1 {
		t.Errorf("stored %+v %v, want the request with a trail of one step", got, err)
	}
}

// Changes and steps whose transaction took effect are recorded once when
// the answer was lost and the SDK's retry found its own entries in place:
// the request moved on once, the trail holds each step once, in order, and
// ends at the request's head.
func TestChangeRecordedOnceWhenTheAnswerIsLost(t *testing.T) {
	client, names := provisioned(t)
	requests, audit := names["RequestsTable"].Ref, names["AuditTable"].Ref
	lost := lostAnswerAPI{client}
	s := &dynamo.Requests{Client: lost, Table: requests, AuditTable: audit}
	a := &dynamo.Audit{Client: lost, Table: audit, RequestsTable: requests}
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r := awaitingRequest("01JB", "th", at)
	if err := s.Create(ctx, r, received(at)); err != nil {
		t.Fatal(err)
	}
	verified := dsr.Step{Actor: dsr.ActorSubject, Action: dsr.AuditVerified, Detail: "code verified; queued", At: at.Add(time.Second)}
	if err := s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, at, dsr.Changes{VerifiedAt: at}, verified); err != nil {
		t.Fatalf("transition whose answer was lost: %v, want it made", err)
	}
	if err := a.Append(ctx, dsr.Step{RequestID: r.ID, Actor: dsr.ActorSubject, Action: dsr.AuditLinkIssued, Detail: "report (json)", At: at.Add(2 * time.Second)}); err != nil {
		t.Fatalf("append whose answer was lost: %v", err)
	}
	got, err := a.Entries(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []dsr.AuditAction
	for _, e := range got {
		actions = append(actions, e.Action)
	}
	if diff := cmp.Diff([]dsr.AuditAction{dsr.AuditReceived, dsr.AuditVerified, dsr.AuditLinkIssued}, actions); diff != "" {
		t.Errorf("trail (-want +got):\n%s", diff)
	}
	stored, err := s.Get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	c := dsr.NewAuditChecker(r.ID)
	for _, e := range got {
		c.Add(e)
	}
	if check := c.Check(stored); !check.Intact || stored.Status != dsr.StatusQueued {
		t.Errorf("request %s, check %+v: want queued, its trail intact", stored.Status, check)
	}
}

// A quota change whose write took effect is not applied again when the
// retry of that write fails its condition.
func TestQuotaChangeAppliedOnceWhenTheAnswerIsLost(t *testing.T) {
	client, names := provisioned(t)
	s := &dynamo.Limits{Client: lostAnswerAPI{client}, Table: names["LimitsTable"].Ref}
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	l := dsr.Limits{OpenPerPerson: 9, CodesPerDay: 9, WrongCodesPerDay: 9}
	for i := range 3 {
		if err := s.UpdateQuota(ctx, "k", now, func(q *dsr.Quota) error { return q.Guess(now, l) }); err != nil {
			t.Fatalf("guess %d: %v", i+1, err)
		}
	}
	var got dsr.Quota
	if err := s.UpdateQuota(ctx, "k", now, func(q *dsr.Quota) error { got = q.Clone(); return nil }); err != nil {
		t.Fatal(err)
	}
	if got.Wrong != 3 {
		t.Errorf("%d wrong codes counted for 3 guesses", got.Wrong)
	}
}

// TestSubjectKeyWrites: the subject key is written only while the record
// holds the identifier it was computed from and another key; a scan segment
// reads every record once with its identifier and key.
func TestSubjectKeyWrites(t *testing.T) {
	client, names := provisioned(t)
	ctx := context.Background()
	table := names["MarketingTable"].Ref
	p := dsr.Purpose{Name: "marketing", Table: table, SubjectIndex: "by-subject", Identifier: "email", SubjectKeyAttribute: "dsrSubjectKey"}
	var items []map[string]types.AttributeValue
	for i := range 60 {
		av, _ := attributevalue.MarshalMap(map[string]any{"contactId": fmt.Sprintf("k-%03d", i), "email": fmt.Sprintf("P%03d@example.net", i)})
		items = append(items, av)
	}
	noEmail, _ := attributevalue.MarshalMap(map[string]any{"contactId": "k-none", "email": 42})
	items = append(items, noEmail)
	if err := dynamo.BatchPut(ctx, client, table, items); err != nil {
		t.Fatal(err)
	}
	contacts := &dynamo.Contacts{Client: client}
	seen := map[string]dsr.KeyState{}
	for seg := range 3 {
		for cursor := ""; ; {
			states, next, err := contacts.ScanSegment(ctx, p, seg, 3, cursor, 7)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range states {
				if _, dup := seen[st.Ref]; dup {
					t.Fatalf("%s read twice", st.Ref)
				}
				seen[st.Ref] = st
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	if len(seen) != 61 {
		t.Fatalf("scanned %d records, want 61", len(seen))
	}
	var ref string
	for r, st := range seen {
		if st.Identifier != nil && *st.Identifier == "P007@example.net" {
			ref = r
		}
	}
	nonString := 0
	for _, st := range seen {
		if st.Identifier == nil {
			nonString++
		}
	}
	if nonString != 1 {
		t.Errorf("%d records without a string identifier, want the one", nonString)
	}
	for _, tc := range []struct {
		name, identifier, key string
		wrote                 bool
	}{
		{"the record's identifier, a new key", "P007@example.net", "key-1", true},
		{"the same key again", "P007@example.net", "key-1", false},
		{"an identifier the record no longer holds", "p007@example.net", "key-2", false},
		{"another key", "P007@example.net", "key-3", true},
	} {
		wrote, err := contacts.SetSubjectKey(ctx, p, ref, tc.identifier, tc.key)
		if err != nil || wrote != tc.wrote {
			t.Errorf("%s: wrote %v %v, want %v", tc.name, wrote, err, tc.wrote)
		}
	}
	got, _, _ := contacts.KeysPage(ctx, p, dsr.Subject{Email: "p007@example.net", Key: "key-3"}, "")
	if len(got) != 1 || got[0] != ref {
		t.Errorf("the index by the written key: %v", got)
	}
	// A key proves nothing by itself: for another address (the CRM changed
	// the record's, and the stream has not keyed it yet) the record is not
	// found, read back or erased.
	stale := dsr.Subject{Email: "ada@example.com", Key: "key-3"}
	if got, _, _ := contacts.KeysPage(ctx, p, stale, ""); len(got) != 0 {
		t.Errorf("another address's record found by its stale key: %v", got)
	}
	if got, _, _ := contacts.FindPage(ctx, p, stale, ""); len(got) != 0 {
		t.Errorf("another address's record reported by its stale key: %v", got)
	}
	if got, _ := contacts.Survey(ctx, p, stale); len(got) != 0 {
		t.Errorf("another address's record read back by its stale key: %v", got)
	}
	// A key whose record's identifier gives none any more is removed, only
	// while the record is as the keying function saw it.
	numeric, _ := attributevalue.MarshalMap(map[string]any{"contactId": "k-num", "email": 42, "dsrSubjectKey": "key-x"})
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: numeric}); err != nil {
		t.Fatal(err)
	}
	numRef, _ := dynamo.EncodeCursor(map[string]types.AttributeValue{"contactId": &types.AttributeValueMemberS{Value: "k-num"}})
	p007 := "P007@example.net"
	for _, tc := range []struct {
		name, ref  string
		identifier *string
		key        string
		removed    bool
	}{
		{"another key", ref, &p007, "key-1", false},
		{"another identifier", ref, aws.String("p007@example.net"), "key-3", false},
		{"as seen", ref, &p007, "key-3", true},
		{"a string where none was seen", numRef, aws.String("42"), "key-x", false},
		{"no string identifier, as seen", numRef, nil, "key-x", true},
	} {
		removed, err := contacts.ClearSubjectKey(ctx, p, tc.ref, tc.identifier, tc.key)
		if err != nil || removed != tc.removed {
			t.Errorf("clear, %s: removed %v %v, want %v", tc.name, removed, err, tc.removed)
		}
	}
}

// keyedAsAddress is the subject of records these tests key with their
// address itself as their subject key (the index is the same as with the
// keying function's hash).
func keyedAsAddress(email string) dsr.Subject { return dsr.Subject{Email: email, Key: email} }

// An attempt whose count took effect is counted once, and answered as
// counted, when the answer was lost and the SDK's retry found its own
// attempt recorded: a person keeps all five tries under faults.
func TestAttemptCountedOnceWhenTheAnswerIsLost(t *testing.T) {
	client, names := provisioned(t)
	s := &dynamo.Requests{Client: lostAnswerAPI{client}, Table: names["RequestsTable"].Ref}
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r := awaitingRequest("01JE", "th", at)
	if err := (&dynamo.Requests{Client: client, Table: names["RequestsTable"].Ref, AuditTable: names["AuditTable"].Ref}).Create(ctx, r, received(at)); err != nil {
		t.Fatal(err)
	}
	var counts []int
	for _, attempt := range []string{"a1", "a2"} {
		got, err := s.UseAttempt(ctx, r.ID, attempt, at)
		if err != nil {
			t.Fatalf("attempt %s whose answer was lost: %v, want it counted", attempt, err)
		}
		counts = append(counts, got.CodeAttempts)
	}
	if diff := cmp.Diff([]int{1, 2}, counts); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
}

// awaitingRequest is a new access request awaiting verification, received
// at at, its id unique under prefix.
func awaitingRequest(prefix, tokenHash string, at time.Time) *dsr.Request {
	return &dsr.Request{ID: fmt.Sprintf("%s%022d", prefix, time.Now().UnixNano()%1e15), Type: dsr.TypeAccess,
		Status: dsr.StatusAwaitingVerification, Email: "ada@example.com", TokenHash: tokenHash, CodeHash: "ch",
		CodeExpiresAt: at.Add(15 * time.Minute), ReceivedAt: at, UpdatedAt: at, DueAt: at.AddDate(0, 1, 0)}
}

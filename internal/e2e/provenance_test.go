//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/awsapp"
	"github.com/privacyops/dsr/internal/devstack"
	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/dynamo"
	"github.com/privacyops/dsr/internal/retention"
)

// provenanceOf is the stack's provenance store and subject hasher.
func provenanceOf(t *testing.T, cfg aws.Config, stack *devstack.Stack) (*dynamo.Provenance, *dsr.Hasher) {
	t.Helper()
	hasher, err := awsapp.LoadHasher(context.Background(), cfg, stack.Names["PepperSecret"].Ref)
	if err != nil {
		t.Fatal(err)
	}
	return &dynamo.Provenance{Client: dynamodb.NewFromConfig(cfg), Table: stack.Names["ProvenanceTable"].Ref}, hasher
}

// sendMessages sends bodies to the queue, one message each, as the CRM does.
func sendMessages(t *testing.T, cfg aws.Config, queueURL string, bodies ...string) {
	t.Helper()
	c := sqs.NewFromConfig(cfg)
	for _, b := range bodies {
		if _, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: &queueURL, MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
}

// receiveMessages receives n messages of the queue (with their attributes)
// within limit, deleting them.
func receiveMessages(t *testing.T, cfg aws.Config, queueURL string, n int, limit time.Duration) []sqstypes.Message {
	t.Helper()
	c := sqs.NewFromConfig(cfg)
	var got []sqstypes.Message
	for deadline := time.Now().Add(limit); len(got) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages on %s within %s", len(got), n, queueURL, limit)
		}
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: &queueURL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			got = append(got, m)
			if _, err := c.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: &queueURL, ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return got
}

// TestProvenanceEndToEnd: the CRM's events on the provenance queue are
// stored once each, invalid ones reach the dead-letter queue alone with the
// reason, and the person's access report lists what was stored. A billing
// disclosure of 2020 (past two years, within billing's nine) is recorded
// and in ada's report, with its transfer basis; a recipient in a third
// country without a safeguard, or in ZZ, is dead-lettered and in no report.
func TestProvenanceEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	store, hasher := provenanceOf(t, cfg, stack)
	const lin = "lin@example.org"
	collected := `{"email":"Lin@Example.org","purpose":"newsletter","event":"collected","source":"webinar sign-up","at":"` + time.Now().AddDate(0, -1, 0).UTC().Format(time.RFC3339) + `"}`
	disclosed := `{"email":"lin@example.org","purpose":"newsletter","event":"disclosed","recipient":"Mailer Inc.","country":"US","safeguard":"scc","at":"` + time.Now().AddDate(0, 0, -3).UTC().Format(time.RFC3339) + `"}`
	old := `{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"Finanzamt München","country":"DE","at":"2020-06-15T09:00:00Z"}`
	recent := time.Now().AddDate(0, 0, -1).UTC().Format(time.RFC3339)
	invalid := map[string]string{
		"no safeguard":    `{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"Cheap Cloud Pvt","country":"IN","safeguard":"","at":"` + recent + `"}`,
		"country ZZ":      `{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"Nowhere Ltd","country":"ZZ","safeguard":"scc","at":"` + recent + `"}`,
		"old marketing":   `{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"trade fair 2020","at":"2020-06-15T09:00:00Z"}`,
		"bad JSON":        `{"email":"lin@example.org","purpose":`,
		"unknown purpose": `{"email":"lin@example.org","purpose":"astrology","event":"collected","source":"x","at":"2026-01-01T00:00:00Z"}`,
		"missing time":    `{"email":"lin@example.org","purpose":"newsletter","event":"collected","source":"x"}`,
		"future time":     `{"email":"lin@example.org","purpose":"newsletter","event":"collected","source":"x","at":"` + time.Now().AddDate(0, 0, 1).UTC().Format(time.RFC3339) + `"}`,
	}
	bodies := []string{collected, disclosed, collected, old} // collected is sent twice
	for _, b := range invalid {
		bodies = append(bodies, b)
	}
	sendMessages(t, cfg, stack.QueueURL("ProvenanceQueue"), bodies...)

	dead := receiveMessages(t, cfg, stack.QueueURL("ProvenanceDeadLetterQueue"), len(invalid), 30*time.Second)
	want := map[string]string{
		invalid["bad JSON"]:        "the message is not a valid JSON object",
		invalid["unknown purpose"]: "purpose is not a purpose of the registry",
		invalid["missing time"]:    "at is required",
		invalid["future time"]:     "at is in the future",
		invalid["no safeguard"]:    "safeguard is required outside the EEA where no adequacy decision applies",
		invalid["country ZZ"]:      "country must be an assigned ISO 3166-1 alpha-2 country code",
		invalid["old marketing"]:   "at is more than 2 years ago",
	}
	for _, m := range dead {
		reason := aws.ToString(m.MessageAttributes["reason"].StringValue)
		w, ok := want[aws.ToString(m.Body)]
		if !ok || !strings.Contains(reason, w) || m.MessageAttributes["sourceMessageId"].StringValue == nil {
			t.Errorf("dead letter %q: reason %q, want it to say %q", aws.ToString(m.Body), reason, w)
		}
		delete(want, aws.ToString(m.Body))
		if strings.Contains(reason, "lin@") || strings.Contains(reason, "ada@") || strings.Contains(reason, "ZZ") {
			t.Errorf("the reason echoes a value: %q", reason)
		}
	}
	if len(want) != 0 {
		t.Errorf("not dead-lettered: %v", want)
	}
	var entries []dsr.ProvenanceEntry
	for deadline := time.Now().Add(20 * time.Second); len(entries) < 2; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("lin's entries: %+v", entries)
		}
		var err error
		if entries, err = store.Subject(context.Background(), hasher.Subject(lin), "", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second) // the duplicate has been received by now
	if entries, _ = store.Subject(context.Background(), hasher.Subject(lin), "", time.Now()); len(entries) != 2 {
		t.Errorf("stored %d entries for 2 distinct events: %+v", len(entries), entries)
	}

	c := &client{t: t, base: stack.URL}
	access := submitVerified(t, c, outbox, map[string]any{"type": "access", "email": lin})
	rep, page := fetchReport(t, c, access)
	for _, p := range rep.Purposes {
		if p.Records == nil || len(p.Records) != 0 {
			t.Errorf("lin has no contact records, %s shows %+v", p.Purpose, p.Records)
		}
		wantSources, wantRecipients := 0, 0
		if p.Purpose == "newsletter" {
			wantSources, wantRecipients = 1, 1
		}
		if len(p.Sources) != wantSources || len(p.Recipients) != wantRecipients {
			t.Errorf("%s: sources %+v, recipients %+v", p.Purpose, p.Sources, p.Recipients)
		}
	}
	// The safeguard and the transfer basis in words of the report's language
	// (German, the default), not as their codes.
	for _, s := range []string{"webinar sign-up", "Mailer Inc.", "von der Kommission erlassene Standarddatenschutzklauseln", "geeignete Garantien (Art. 46, 47 DSGVO)"} {
		if !strings.Contains(page, s) {
			t.Errorf("HTML report lacks %q", s)
		}
	}
	if strings.Contains(page, "<td>scc</td>") || strings.Contains(page, "<td>safeguard</td>") {
		t.Error("HTML report shows a safeguard's or transfer basis's code")
	}
	for _, p := range rep.Purposes {
		if p.Purpose == "newsletter" && (len(p.Recipients) != 1 || p.Recipients[0].TransferBasis != dsr.TransferSafeguard) {
			t.Errorf("lin's newsletter recipients %+v: want Mailer Inc. under a safeguard", p.Recipients)
		}
	}

	ada := submitVerified(t, c, outbox, map[string]any{"type": "access", "email": seed.Ada})
	rep, page = fetchReport(t, c, ada)
	var found *dsr.Recipient
	for _, p := range rep.Purposes {
		for i, r := range p.Recipients {
			switch {
			case r.Recipient == "Finanzamt München" && p.Purpose == "billing":
				found = &p.Recipients[i]
			case r.Recipient == "Cheap Cloud Pvt" || r.Recipient == "Nowhere Ltd":
				t.Errorf("%s: a refused recipient is reported: %+v", p.Purpose, r)
			}
		}
	}
	if found == nil || found.At.Year() != 2020 || found.Country != "DE" || found.TransferBasis != dsr.TransferEEA {
		t.Errorf("ada's billing disclosure of 2020: %+v", found)
	}
	if !strings.Contains(page, "Finanzamt München") || !strings.Contains(page, "im EWR: keine Übermittlung in ein Drittland") ||
		strings.Contains(page, "Cheap Cloud") || strings.Contains(page, "Nowhere Ltd") {
		t.Error("ada's HTML report: want the disclosure of 2020, not the refused ones")
	}
}

// fetchReport waits for an access request and downloads its JSON and HTML.
func fetchReport(t *testing.T, c *client, sub submitted) (dsr.Report, string) {
	t.Helper()
	pollUntilDone(t, c, sub, 90*time.Second)
	var l, hl link
	if s, _, b := c.do("GET", "/v1/requests/"+sub.ID+"/report", sub.StatusToken, nil, &l); s != 200 {
		t.Fatalf("report link: %d %s", s, b)
	}
	var rep dsr.Report
	if err := json.Unmarshal(download(t, l.URL), &rep); err != nil {
		t.Fatal(err)
	}
	if s, _, b := c.do("GET", "/v1/requests/"+sub.ID+"/report?format=html", sub.StatusToken, nil, &hl); s != 200 {
		t.Fatalf("html link: %d %s", s, b)
	}
	return rep, string(download(t, hl.URL))
}

// checkProvenance compares the report's sources and recipients with ada's
// seeded provenance (with their transfer bases), less the entry past its
// purpose's years.
func checkProvenance(t *testing.T, reg dsr.Registry, rep dsr.Report, page string) {
	t.Helper()
	events := seed.ProvenanceEvents(reg, rep.GeneratedAt)
	want := map[string]dsr.Provenance{}
	for _, ev := range events[seed.Ada] {
		if !dsr.ProvenanceExpiry(ev.At, reg.ProvenanceYears(ev.Purpose, dsr.DefaultProvenanceYears)).After(rep.GeneratedAt) {
			continue
		}
		p := want[ev.Purpose]
		if ev.Event == dsr.EventCollected {
			p.Sources = append(p.Sources, dsr.Source{Source: ev.Source, At: ev.At})
		} else {
			p.Recipients = append(p.Recipients, dsr.Recipient{Recipient: ev.Recipient, Country: ev.Country, Safeguard: ev.Safeguard, TransferBasis: ev.TransferBasis, At: ev.At})
		}
		want[ev.Purpose] = p
	}
	for _, p := range rep.Purposes {
		w := want[p.Purpose]
		if len(w.Sources) == 0 {
			t.Errorf("the seed has no source of ada's %s", p.Purpose)
		}
		if diff := cmp.Diff(w.Sources, p.Sources, cmp.Comparer(func(a, b []dsr.Source) bool { return fmt.Sprint(a) == fmt.Sprint(b) })); diff != "" {
			t.Errorf("%s sources (-seeded +report):\n%s", p.Purpose, diff)
		}
		if fmt.Sprint(w.Recipients) != fmt.Sprint(p.Recipients) || p.Recipients == nil {
			t.Errorf("%s recipients: seeded %+v, report %+v", p.Purpose, w.Recipients, p.Recipients)
		}
	}
	for _, s := range []string{"Example Print GmbH", "Mailer Inc.", "trade fair 2026"} {
		if !strings.Contains(page, s) {
			t.Errorf("HTML report lacks %q", s)
		}
	}
	for _, s := range []string{"trade fair 2024", "Collections Partner SARL", "support e-mail"} {
		if strings.Contains(page, s) {
			t.Errorf("HTML report shows %q (expired, or grace's)", s)
		}
	}
}

// TestRetentionJobEndToEnd runs the retention job through the local stack's
// documented route and its schedule: it deletes exactly the entries past
// their two years, holds those of a subject with an open request, deletes
// reports past their window and strips old request records.
func TestRetentionJobEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, _ := startStack(t, cfg, nil)
	ctx := context.Background()
	store, hasher := provenanceOf(t, cfg, stack)
	now := time.Now().UTC()
	put := func(subject, source string, at time.Time) {
		t.Helper()
		e := dsr.NewProvenanceEntry(dsr.ProvenanceEvent{Purpose: "marketing", Event: dsr.EventCollected, Source: source, At: at}, subject, dsr.DefaultProvenanceYears)
		if _, err := store.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	sources := func(subject string) []string {
		t.Helper()
		es, err := store.Subject(ctx, subject, "", time.Time{}) // expired ones too
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Source)
		}
		return out
	}
	put("S-TEST", "two years and a day ago", now.AddDate(-2, 0, -1))
	put("S-TEST", "two years less a day ago", now.AddDate(-2, 0, 1))
	// Grace has an open request (awaiting verification): her expired entry is held.
	c := &client{t: t, base: stack.URL}
	var open submitted
	if s, _, b := c.do("POST", "/v1/requests", "", map[string]string{"type": "access", "email": seed.Grace}, &open); s != 202 {
		t.Fatalf("submit: %d %s", s, b)
	}
	put(hasher.Subject(seed.Grace), "grace's expired source", now.AddDate(-2, 0, -1))
	// A request record past the accountability retention, and a younger one.
	requests := &dynamo.Requests{Client: dynamodb.NewFromConfig(cfg), Table: stack.Names["RequestsTable"].Ref, AuditTable: stack.Names["AuditTable"].Ref}
	for id, received := range map[string]time.Time{"01OLDREQUEST00000000000000": now.AddDate(-3, 0, -1), "01YOUNGREQUEST000000000000": now.AddDate(-3, 0, 1)} {
		r := &dsr.Request{ID: id, Type: dsr.TypeErasure, Status: dsr.StatusCompleted, Email: "old@example.com", SubjectKey: hasher.Subject("old@example.com"),
			TokenHash: "t", ReceivedAt: received, UpdatedAt: received, CompletedAt: received}
		if err := requests.Create(ctx, r, dsrtest.Step(dsr.AuditReceived)); err != nil {
			t.Fatal(err)
		}
	}
	// Failed requests: one past its due date (no longer retried), one not yet.
	for id, due := range map[string]time.Time{"01FAILEDPASTDUE00000000000": now.Add(-24 * time.Hour), "01FAILEDINTIME000000000000": now.Add(24 * time.Hour)} {
		r := &dsr.Request{ID: id, Type: dsr.TypeAccess, Status: dsr.StatusFailed, Email: "failed@example.com", SubjectKey: hasher.Subject("failed@example.com"),
			TokenHash: "t", ReceivedAt: now.AddDate(0, -1, 0), UpdatedAt: now.AddDate(0, -1, 0), DueAt: due, FailureReason: "dead-lettered"}
		if err := requests.Create(ctx, r, dsrtest.Step(dsr.AuditReceived)); err != nil {
			t.Fatal(err)
		}
	}

	// The documented command: POST the local stack's schedule route.
	resp, err := http.Post(stack.URL+devstack.FirePath+"RetentionFunction", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var sum retention.Summary
	if err := json.NewDecoder(resp.Body).Decode(&sum); err != nil || resp.StatusCode != 200 {
		t.Fatalf("fire: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	t.Logf("first run: %+v", sum)
	// Deleted: S-TEST's older entry and ada's seeded one of two years and three days ago.
	if sum.Deleted != 2 || sum.Held != 1 || sum.RequestsStripped != 1 || sum.ItemsRead != 3 || sum.AddressesRemoved != 1 {
		t.Errorf("first run: %+v; want 2 deleted, 1 held, 3 read, 1 request stripped, 1 address removed", sum)
	}
	// Art. 5(1)(e): the failed request past its due date lost its plain
	// address (subject key and masked form stay); the other keeps it.
	if r, err := requests.Get(ctx, "01FAILEDPASTDUE00000000000"); err != nil || r.Email != "" || r.MaskedEmail != "f***@e***.com" || r.SubjectKey == "" {
		t.Errorf("failed request past its due date: %+v, %v", r, err)
	}
	if r, _ := requests.Get(ctx, "01FAILEDINTIME000000000000"); r.Email != "failed@example.com" {
		t.Errorf("failed request still in time lost its address: %+v", r)
	}
	if diff := cmp.Diff([]string{"two years less a day ago"}, sources("S-TEST")); diff != "" {
		t.Errorf("S-TEST's entries (-want +got):\n%s", diff)
	}
	for _, s := range sources(hasher.Subject(seed.Ada)) {
		if s == "trade fair 2024" {
			t.Error("ada's entry of two years and three days ago is still there")
		}
	}
	if got := len(sources(hasher.Subject(seed.Ada))); got != len(seed.ProvenanceEvents(stack.Registry, now)[seed.Ada])-1 {
		t.Errorf("ada has %d entries left", got)
	}
	if got := sources(hasher.Subject(seed.Grace)); !strings.Contains(fmt.Sprint(got), "grace's expired source") {
		t.Errorf("grace's held entry is gone: %v", got)
	}
	old, err := requests.Get(ctx, "01OLDREQUEST00000000000000")
	if err != nil || old.Email != "" || old.SubjectKey != "" || old.TokenHash != "" || old.IdentifiersRemovedAt.IsZero() || old.Status != dsr.StatusCompleted {
		t.Errorf("old request: %+v, %v", old, err)
	}
	if young, _ := requests.Get(ctx, "01YOUNGREQUEST000000000000"); young.SubjectKey == "" || !young.IdentifiersRemovedAt.IsZero() {
		t.Error("the younger request lost its identifiers")
	}
	trail, err := (&dynamo.Audit{Client: dynamodb.NewFromConfig(cfg), Table: stack.Names["AuditTable"].Ref}).Entries(ctx, "01OLDREQUEST00000000000000")
	if err != nil || len(trail) != 2 || trail[1].Action != dsr.AuditIdentifiersRemoved { // after the test's own received
		t.Errorf("old request's trail: %+v, %v", trail, err)
	}

	// 31 days on (the schedule's event carries its time): the report
	// window of 30 days has passed, the younger entry is due, and grace's
	// request, still open, holds hers again.
	bucket := stack.Names["ReportsBucket"].Ref
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("reports/01OLD/report.json"), Body: strings.NewReader("{}")}); err != nil {
		t.Fatal(err)
	}
	out, err := stack.Fire(ctx, "RetentionFunction", now.AddDate(0, 0, 31))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatal(err)
	}
	t.Logf("31 days later: %+v", sum)
	if sum.Deleted != 1 || sum.Held != 1 || sum.ObjectsDeleted < 1 || sum.Days != 32 {
		t.Errorf("31 days later: %+v", sum)
	}
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("reports/01OLD/report.json")}); err == nil {
		t.Error("the report past its window is still there")
	}
	if got := sources("S-TEST"); len(got) != 0 {
		t.Errorf("S-TEST's entries left: %v", got)
	}
}

// timedProvenance times the sweep's index queries and deletes.
type timedProvenance struct {
	*dynamo.Provenance
	query, delete time.Duration
}

func (p *timedProvenance) Due(ctx context.Context, day, position string, now time.Time, limit int) ([]dsr.ProvenanceKey, string, int, error) {
	start := time.Now()
	defer func() { p.query += time.Since(start) }()
	return p.Provenance.Due(ctx, day, position, now, limit)
}

func (p *timedProvenance) Delete(ctx context.Context, keys []dsr.ProvenanceKey) error {
	start := time.Now()
	defer func() { p.delete += time.Since(start) }()
	return p.Provenance.Delete(ctx, keys)
}

// TestRetentionSweepCost: DSR_RETENTION_ENTRIES entries (default 10,000;
// the closing note's figures are for 100,000, and the unit test sweeps
// 100,000 on the fake) of which 1% are due. The job reads about as many
// index items as it deletes; a Scan-based sweep of the same table reads
// every item. It logs the ratio and the entries deleted per second on the
// emulator.
func TestRetentionSweepCost(t *testing.T) {
	n := 10_000
	if v := os.Getenv("DSR_RETENTION_ENTRIES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100 {
			t.Fatalf("DSR_RETENTION_ENTRIES=%q", v)
		}
	}
	due := n / 100
	cfg := awsConfig(t)
	stack, _ := startStack(t, cfg, nil)
	ctx := context.Background()
	store, _ := provenanceOf(t, cfg, stack)
	now := time.Now().UTC()
	entries := make([]dsr.ProvenanceEntry, 0, n)
	for i := range n {
		at := now.AddDate(-2, 0, 0).Add(-time.Duration(1+i%72) * time.Hour) // expired in the last 3 days
		if i >= due {
			at = now.AddDate(-2, 0, 0).Add(time.Duration(1+i%700) * 24 * time.Hour)
		}
		entries = append(entries, dsr.NewProvenanceEntry(dsr.ProvenanceEvent{
			Purpose: "marketing", Event: dsr.EventCollected, Source: fmt.Sprintf("source %d", i), At: at,
		}, fmt.Sprintf("S%06d", i%(n/10)), dsr.DefaultProvenanceYears))
	}
	start := time.Now()
	if err := store.PutMany(ctx, entries); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d entries written in %s", n, time.Since(start).Round(time.Millisecond))

	// A Scan-based sweep of the same table, for comparison (counting only).
	ddb := dynamodb.NewFromConfig(cfg)
	expr, err := expression.NewBuilder().WithFilter(expression.Name("expiresAt").LessThanEqual(expression.Value(now.Unix()))).Build()
	if err != nil {
		t.Fatal(err)
	}
	scanned, matched := 0, 0
	in := &dynamodb.ScanInput{TableName: &store.Table, FilterExpression: expr.Filter(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}
	for {
		out, err := ddb.Scan(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		scanned += int(out.ScannedCount)
		matched += int(out.Count)
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}

	timed := &timedProvenance{Provenance: store}
	job := &retention.Job{
		Entries: timed, Requests: &dynamo.Requests{Client: ddb, Table: stack.Names["RequestsTable"].Ref, AuditTable: stack.Names["AuditTable"].Ref}, Objects: noObjects{}, Continue: noContinuer{t},
		Restrictions: &dynamo.Contacts{Client: ddb, DueTable: stack.Names["ProvenanceTable"].Ref}, Registry: stack.Registry, Notices: &dsrtest.Queue{},
		ReportDays: 30, AccountabilityYears: 3, Reserve: time.Second, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	start = time.Now()
	sum, err := job.Run(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	// The seeded demo entry of ada's (two years and three days ago) is due too.
	t.Logf("%d entries, %d due (Scan found %d): the job read %d index items and deleted %d in %s (%.0f entries/s; index queries %s, deletes %s: %.0f entries/s deleting); a Scan-based sweep reads %d items: %.1f× more, %.3f items read per deleted entry against %.1f",
		n, due, matched, sum.ItemsRead, sum.Deleted, took.Round(time.Millisecond), float64(sum.Deleted)/took.Seconds(),
		timed.query.Round(time.Millisecond), timed.delete.Round(time.Millisecond), float64(sum.Deleted)/timed.delete.Seconds(),
		scanned, float64(scanned)/float64(sum.ItemsRead), float64(sum.ItemsRead)/float64(sum.Deleted), float64(scanned)/float64(sum.Deleted))
	if sum.Deleted != due+1 || matched != due+1 || sum.ItemsRead > due+1+due/10 || scanned < n {
		t.Errorf("deleted %d, read %d, Scan matched %d of %d: want %d deleted after reading about as many", sum.Deleted, sum.ItemsRead, matched, scanned, due+1)
	}
}

type noObjects struct{}

func (noObjects) DeleteOlderThan(context.Context, time.Time) (int, error) { return 0, nil }

type noContinuer struct{ t *testing.T }

func (c noContinuer) Continue(context.Context) error {
	c.t.Error("the sweep asked to continue: it should fit in one run here")
	return nil
}

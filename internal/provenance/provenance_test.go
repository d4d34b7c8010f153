package provenance_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/memstore"
	"github.com/privacyops/dsr/internal/provenance"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

type dead struct{ body, reason, id string }

type fakeDLQ struct {
	got  []dead
	fail bool
}

func (q *fakeDLQ) Reject(_ context.Context, body, reason, id string) error {
	if q.fail {
		return errors.New("queue down")
	}
	q.got = append(q.got, dead{body, reason, id})
	return nil
}

type failingStore struct{}

func (failingStore) Put(context.Context, dsr.ProvenanceEntry) (bool, error) {
	return false, errors.New("ProvisionedThroughputExceeded")
}

func newHandler(t *testing.T, store provenance.Store, dlq *fakeDLQ, logs *bytes.Buffer) *provenance.Handler {
	t.Helper()
	hasher, err := dsr.NewHasher(bytes.Repeat([]byte("p"), 32))
	if err != nil {
		t.Fatal(err)
	}
	return &provenance.Handler{
		Store: store, DeadLetters: dlq, Hasher: hasher, Registry: dsrtest.Registry(t), Years: 2, Adequacy: dsrtest.Policy(t).Adequacy, MaxReceives: 5,
		Log: slog.New(slog.NewJSONHandler(logs, nil)), Clock: func() time.Time { return now },
	}
}

func msg(id, body string, receives string) events.SQSMessage {
	return events.SQSMessage{MessageId: id, Body: body, Attributes: map[string]string{"ApproximateReceiveCount": receives}}
}

func TestHandle(t *testing.T) {
	ctx := context.Background()
	store := &memstore.Provenance{}
	dlq := &fakeDLQ{}
	var logs bytes.Buffer
	h := newHandler(t, store, dlq, &logs)
	valid := `{"email":"Ada@Example.com","purpose":"marketing","event":"collected","source":"trade fair 2026","at":"2026-03-14T10:00:00Z"}`
	disclosed := `{"email":"ada@example.com","purpose":"marketing","event":"disclosed","recipient":"Example Print GmbH","country":"DE","safeguard":"","at":"2026-04-01T08:00:00Z"}`
	resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{
		msg("ok", valid, "1"),
		msg("again", valid, "2"), // redelivered, or sent twice
		msg("disclosed", disclosed, "1"),
		msg("badjson", `{"email": "ada@example.com",`, "1"),
		msg("purpose", `{"email":"ada@example.com","purpose":"astrology","event":"collected","source":"x","at":"2026-03-14T10:00:00Z"}`, "1"),
		msg("notime", `{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"x"}`, "1"),
		msg("future", `{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"x","at":"2027-01-01T00:00:00Z"}`, "1"),
	}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v, %v: invalid events are dead-lettered, not failed", resp, err)
	}
	if store.Len() != 2 {
		t.Errorf("%d entries stored, want 2 (the duplicate once)", store.Len())
	}
	hasher, _ := dsr.NewHasher(bytes.Repeat([]byte("p"), 32))
	got, _ := store.Subject(ctx, hasher.Subject("ada@example.com"), "marketing", now)
	if len(got) != 2 {
		t.Errorf("ada's entries: %+v", got)
	}
	wantReasons := map[string]string{
		"badjson": "the message is not a valid JSON object",
		"purpose": "purpose is not a purpose of the registry",
		"notime":  "at is required",
		"future":  "at is in the future",
	}
	if len(dlq.got) != len(wantReasons) {
		t.Fatalf("dead-lettered %+v", dlq.got)
	}
	for _, d := range dlq.got {
		if !strings.Contains(d.reason, wantReasons[d.id]) {
			t.Errorf("%s: reason %q, want it to say %q", d.id, d.reason, wantReasons[d.id])
		}
		if strings.Contains(d.reason, "ada@") {
			t.Errorf("%s: the reason echoes the address", d.id)
		}
		if d.body == "" {
			t.Errorf("%s: body lost", d.id)
		}
	}
	if strings.Contains(logs.String(), "ada@") || strings.Contains(logs.String(), "Ada@") {
		t.Errorf("logs hold the address:\n%s", logs.String())
	}
}

// TestPurposeYears: each entry is kept its purpose's years: billing's (a
// 10-year duty) 11 from the event, so its disclosure of 2020 is stored;
// marketing's the handler's two, so its event of 2020 is refused.
func TestPurposeYears(t *testing.T) {
	ctx := context.Background()
	store := &memstore.Provenance{}
	dlq := &fakeDLQ{}
	var logs bytes.Buffer
	h := newHandler(t, store, dlq, &logs)
	resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{
		msg("billing", `{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"Tax Office","country":"DE","at":"2020-03-01T00:00:00Z"}`, "1"),
		msg("marketing", `{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"fair","at":"2020-03-01T00:00:00Z"}`, "1"),
	}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v, %v", resp, err)
	}
	hasher, _ := dsr.NewHasher(bytes.Repeat([]byte("p"), 32))
	got, _ := store.Subject(ctx, hasher.Subject("ada@example.com"), "", now)
	if len(got) != 1 || got[0].Purpose != "billing" {
		t.Fatalf("entries %+v, want billing's only", got)
	}
	if want := time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC); !got[0].ExpiresAt.Equal(want) {
		t.Errorf("expires %v, want %v", got[0].ExpiresAt, want)
	}
	if len(dlq.got) != 1 || dlq.got[0].id != "marketing" || !strings.Contains(dlq.got[0].reason, "at is more than 2 years ago") {
		t.Errorf("dead-lettered %+v", dlq.got)
	}
}

// TestThirdCountries: a recipient outside the EEA is recorded only in an
// adequacy country or with a safeguard of the list, with its transfer
// basis; otherwise (or in a country that is none) the event goes to the
// dead-letter queue with the reason, naming the field and never a value.
func TestThirdCountries(t *testing.T) {
	ctx := context.Background()
	store := &memstore.Provenance{}
	dlq := &fakeDLQ{}
	var logs bytes.Buffer
	h := newHandler(t, store, dlq, &logs)
	ev := func(recipient, country, safeguard string) string {
		return `{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"` + recipient + `","country":"` + country +
			`","safeguard":"` + safeguard + `","at":"2026-06-01T00:00:00Z"}`
	}
	resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{
		msg("eea", ev("Print GmbH", "DE", ""), "1"),
		msg("adequacy", ev("Advisers LLP", "GB", ""), "1"),
		msg("dpf", ev("Mailer Inc.", "US", "dpf"), "1"),
		msg("scc", ev("Call Centre Ltd", "IN", "scc"), "1"),
		msg("derogation", ev("Court", "CN", "legal_claims"), "1"),
		msg("nosafeguard", ev("Cheap Cloud", "IN", ""), "1"),
		msg("us-uncertified", ev("Ads Inc.", "US", ""), "1"),
		msg("zz", ev("Nowhere Ltd", "ZZ", "scc"), "1"),
		msg("lower", ev("Print GmbH", "de", ""), "1"),
		msg("text", ev("Cheap Cloud", "IN", "we trust them"), "1"),
	}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v, %v", resp, err)
	}
	hasher, _ := dsr.NewHasher(bytes.Repeat([]byte("p"), 32))
	got, _ := store.Subject(ctx, hasher.Subject("ada@example.com"), "billing", now)
	bases := map[string]string{}
	for _, e := range got {
		bases[e.Recipient] = e.TransferBasis
	}
	want := map[string]string{"Print GmbH": "eea", "Advisers LLP": "adequacy", "Mailer Inc.": "adequacy", "Call Centre Ltd": "safeguard", "Court": "derogation"}
	if diff := cmp.Diff(want, bases); diff != "" {
		t.Errorf("recorded recipients and their bases (-want +got):\n%s", diff)
	}
	wantReasons := map[string]string{
		"nosafeguard":    "safeguard is required outside the EEA where no adequacy decision applies",
		"us-uncertified": "safeguard is required: the adequacy decision for this country covers only recipients certified",
		"zz":             "country must be an assigned ISO 3166-1 alpha-2 country code",
		"lower":          "country must be an assigned ISO 3166-1 alpha-2 country code",
		"text":           "safeguard must be one of",
	}
	if len(dlq.got) != len(wantReasons) {
		t.Fatalf("dead-lettered %+v", dlq.got)
	}
	for _, d := range dlq.got {
		if !strings.Contains(d.reason, wantReasons[d.id]) {
			t.Errorf("%s: reason %q, want it to say %q", d.id, d.reason, wantReasons[d.id])
		}
		if strings.Contains(d.reason, "trust") || strings.Contains(d.reason, "ZZ") || strings.Contains(d.reason, "ada@") {
			t.Errorf("%s: the reason echoes a value: %q", d.id, d.reason)
		}
	}
	if !strings.Contains(logs.String(), `"reason":"the provenance event is invalid: country must be`) {
		t.Errorf("the operator's log line has no reason:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "ada@") {
		t.Errorf("logs hold the address:\n%s", logs.String())
	}
}

func TestStoreFailures(t *testing.T) {
	ctx := context.Background()
	valid := `{"email":"ada@example.com","purpose":"marketing","event":"collected","source":"fair","at":"2026-03-14T10:00:00Z"}`
	tests := []struct {
		name     string
		receives string
		dlqFails bool
		failed   []string
		dead     int
	}{
		{name: "early attempt: retried", receives: "1", failed: []string{"m"}},
		{name: "last attempt: dead-lettered with the reason", receives: "5", dead: 1},
		{name: "last attempt, dead-letter queue down: retried", receives: "5", dlqFails: true, failed: []string{"m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dlq := &fakeDLQ{fail: tt.dlqFails}
			h := newHandler(t, failingStore{}, dlq, &bytes.Buffer{})
			resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{msg("m", valid, tt.receives)}})
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			for _, f := range resp.BatchItemFailures {
				failed = append(failed, f.ItemIdentifier)
			}
			if diff := cmp.Diff(tt.failed, failed); diff != "" {
				t.Errorf("failures (-want +got):\n%s", diff)
			}
			if len(dlq.got) != tt.dead || (tt.dead > 0 && !strings.Contains(dlq.got[0].reason, "could not be stored in 5 attempts")) {
				t.Errorf("dead-lettered %+v", dlq.got)
			}
		})
	}
}

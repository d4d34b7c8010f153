package worker_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/memstore"
)

func putProvenance(t *testing.T, store *memstore.Provenance, subject, purpose string, ev dsr.ProvenanceEvent) {
	t.Helper()
	ev.Purpose = purpose
	if _, err := store.Put(context.Background(), dsr.NewProvenanceEntry(ev, subject, 2)); err != nil {
		t.Fatal(err)
	}
}

// TestErasureTellsRecipients: the recipients of every erased or restricted
// purpose are in the certificate and the result, each gets one notice, and
// the provenance of deleted purposes goes while the restricted keep theirs.
func TestErasureTellsRecipients(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeErasure})
	e.contacts.Add(e.marketing, ada, 3)
	e.contacts.Add(e.billing, ada, 2)
	prov := e.prov
	at := e.now.AddDate(0, -3, 0)
	printer := dsr.ProvenanceEvent{Event: dsr.EventDisclosed, Recipient: "Example Print GmbH", Country: "DE", At: at}
	putProvenance(t, prov, "key-ada", "marketing", dsr.ProvenanceEvent{Event: dsr.EventCollected, Source: "trade fair", At: at})
	putProvenance(t, prov, "key-ada", "marketing", printer)
	putProvenance(t, prov, "key-ada", "marketing", dsr.ProvenanceEvent{Event: dsr.EventDisclosed, Recipient: "Mailer Inc.", Country: "US", Safeguard: "SCC", At: at})
	putProvenance(t, prov, "key-ada", "billing", printer)
	putProvenance(t, prov, "key-ada", "billing", dsr.ProvenanceEvent{Event: dsr.EventDisclosed, Recipient: "Gone Ltd", Country: "GB", At: e.now.AddDate(-2, 0, -1)}) // expired before receipt
	putProvenance(t, prov, "key-grace", "marketing", dsr.ProvenanceEvent{Event: dsr.EventDisclosed, Recipient: "Grace's printer", Country: "FR", At: at})

	e.runAll(t)

	want := []dsr.Recipient{
		{Recipient: "Example Print GmbH", Country: "DE", At: at, Purposes: []string{"marketing", "billing"}},
		{Recipient: "Mailer Inc.", Country: "US", Safeguard: "SCC", At: at, Purposes: []string{"marketing"}},
	}
	if diff := cmp.Diff(want, e.certificate(t).Recipients); diff != "" {
		t.Errorf("certificate recipients (-want +got):\n%s", diff)
	}
	r, _ := e.store.Get(context.Background(), e.id)
	if diff := cmp.Diff(want, r.Result.Recipients); diff != "" {
		t.Errorf("result recipients (-want +got):\n%s", diff)
	}
	if sent := e.notices(); len(sent) != 2 || sent[0].Email != "ada@example.com" || sent[0].Recipient != "Example Print GmbH" ||
		!cmp.Equal(sent[0].Purposes, []dsr.NoticePurpose{{Purpose: "marketing", Action: dsr.ActionDelete}, {Purpose: "billing", Action: dsr.ActionRestrict}}) {
		t.Errorf("notices: %+v", sent)
	}
	if got := e.steps(e.id); !slices.Contains(got, dsr.AuditRecipientsNotified) {
		t.Errorf("trail %v lacks the notices", got)
	}
	left, _ := prov.Subject(context.Background(), "key-ada", "", time.Time{})
	for _, l := range left {
		if l.Purpose != "billing" {
			t.Errorf("provenance of the erased purpose left: %+v", l)
		}
	}
	if len(left) != 2 {
		t.Errorf("billing's provenance (restricted records) must stay: %+v", left)
	}
	if grace, _ := prov.Subject(context.Background(), "key-grace", "", time.Time{}); len(grace) != 1 {
		t.Error("grace's provenance touched")
	}
	// Redelivered after completion: no second notice.
	e.deliverTask(t, context.Background(), "marketing")
	if n := len(e.notices()); n != 2 {
		t.Errorf("%d notices after a redelivery", n)
	}
}

// TestObjectionWithoutRecipients: no provenance, no notice, recipients [].
func TestObjectionWithoutRecipients(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeObjection, Scope: dsr.ScopeDirectMarketing})
	e.contacts.Add(e.marketing, ada, 2)
	e.runAll(t)
	if c, sent := e.certificate(t), e.notices(); c.Recipients == nil || len(c.Recipients) != 0 || len(sent) != 0 {
		t.Errorf("recipients %+v, notices %+v", c.Recipients, sent)
	}
}

// TestAccessReportShowsProvenance: the report lists the subject's sources
// and recipients per purpose as of the request's receipt, and nothing of
// anyone else's.
func TestAccessReportShowsProvenance(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeAccess})
	e.contacts.Add(e.marketing, ada, 1)
	prov := e.prov
	received := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	at := received.AddDate(0, -6, 0)
	putProvenance(t, prov, "key-ada", "marketing", dsr.ProvenanceEvent{Event: dsr.EventCollected, Source: "trade fair 2026", At: at})
	putProvenance(t, prov, "key-ada", "marketing", dsr.ProvenanceEvent{Event: dsr.EventDisclosed, Recipient: "Mailer Inc.", Country: "US", Safeguard: "SCC", At: at.Add(time.Hour)})
	putProvenance(t, prov, "key-ada", "billing", dsr.ProvenanceEvent{Event: dsr.EventCollected, Source: "online shop", At: at})
	// Expired at receipt (two years and a minute before it): not reported.
	putProvenance(t, prov, "key-ada", "marketing", dsr.ProvenanceEvent{Event: dsr.EventCollected, Source: "old fair", At: received.AddDate(-2, 0, 0).Add(-time.Minute)})
	// Expired since receipt (two years less a minute before it): held, reported.
	putProvenance(t, prov, "key-ada", "marketing", dsr.ProvenanceEvent{Event: dsr.EventCollected, Source: "held fair", At: received.AddDate(-2, 0, 0).Add(time.Minute)})
	putProvenance(t, prov, "key-grace", "marketing", dsr.ProvenanceEvent{Event: dsr.EventCollected, Source: "grace's fair", At: at})
	ctx := context.Background()
	e.deliver(t, ctx, task(t, "m", dsr.TaskMessage{RequestID: e.id, Purpose: "marketing"}), task(t, "b", dsr.TaskMessage{RequestID: e.id, Purpose: "billing"}))
	rep := e.report(t)
	m, b := rep.Purposes[0], rep.Purposes[1]
	wantM := []dsr.Source{{Source: "held fair", At: received.AddDate(-2, 0, 0).Add(time.Minute)}, {Source: "trade fair 2026", At: at}}
	if diff := cmp.Diff(wantM, m.Sources); diff != "" {
		t.Errorf("marketing sources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]dsr.Recipient{{Recipient: "Mailer Inc.", Country: "US", Safeguard: "SCC", At: at.Add(time.Hour)}}, m.Recipients); diff != "" {
		t.Errorf("marketing recipients (-want +got):\n%s", diff)
	}
	if len(b.Sources) != 1 || b.Sources[0].Source != "online shop" || b.Recipients == nil || len(b.Recipients) != 0 {
		t.Errorf("billing: %+v", b)
	}
}

package worker_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/privacyops/dsr/internal/dsr"
)

// TestPreferencesApplyOnceAndAnswer: a preferences request withdraws ada's
// e-mail consent and sets the frequency on every one of her marketing
// records (grace's untouched), reads them back, records the part once and
// answers with a certificate; a redelivered task changes nothing more.
func TestPreferencesApplyOnceAndAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypePreferences, Preferences: []dsr.PreferenceChange{
		{Purpose: "marketing", Channel: dsr.ChannelEmail, Consent: dsr.ConsentWithdraw},
		{Purpose: "marketing", Channel: dsr.ChannelPost, Consent: dsr.ConsentKeep},
		{Purpose: "marketing", Frequency: "monthly"},
	}})
	adas := e.contacts.Add(e.marketing, ada, 12) // two pages
	e.contacts.Add(e.marketing, grace, 2)
	ctx := context.Background()
	for round := range 2 {
		if failed := e.deliverTask(t, ctx, "marketing"); len(failed) != 0 {
			t.Fatalf("round %d: task failed", round+1)
		}
	}
	r, _ := e.store.Get(ctx, e.id)
	if r.Status != dsr.StatusCompleted || r.Result == nil || r.Result.CertificateKey == "" {
		t.Fatalf("request after the task: %+v", r)
	}
	for _, it := range e.contacts.Items(e.marketing) {
		mine := it["dsrSubjectKey"] == ada.Key
		withdrawn := e.marketing.ConsentOf(it, dsr.ChannelEmail).State == dsr.ConsentWithdrawn
		if mine != withdrawn || mine != (it["frequency"] == "monthly") || it["postWithdrawnAt"] != nil {
			t.Errorf("record after the request: %v", it)
		}
	}
	raw, ok := e.objects.Document(e.id, dsr.DocCertificate)
	var cert dsr.PreferencesCertificate
	if !ok || json.Unmarshal(raw, &cert) != nil || len(cert.Changes) != 3 || cert.Changes[0].RecordsFound != len(adas) || len(cert.Suppression) != 1 {
		t.Errorf("certificate: %s", raw)
	}
	if got := e.steps(e.id); slices.Index(got, dsr.AuditPurposeDone) < 0 || len(slices.DeleteFunc(slices.Clone(got), func(a dsr.AuditAction) bool { return a != dsr.AuditPurposeDone })) != 1 {
		t.Errorf("trail %v: want the part once", got)
	}
	if n := e.objects.Writes(e.id, dsr.DocCertificate); n != 1 {
		t.Errorf("certificate written %d times", n)
	}
}

// TestOneClickChangesTheRecordsOfTheKey: a one-click request holds no
// address: the records holding its subject key are changed, whatever
// address they hold.
func TestOneClickChangesTheRecordsOfTheKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypePreferences, OneClick: true, Preferences: []dsr.PreferenceChange{
		{Purpose: "marketing", Channel: dsr.ChannelEmail, Consent: dsr.ConsentWithdraw}}})
	ctx := context.Background()
	e.contacts.Add(e.marketing, ada, 2)
	if failed := e.deliverTask(t, ctx, "marketing"); len(failed) != 0 {
		t.Fatal("task failed")
	}
	for _, it := range e.contacts.Items(e.marketing) {
		if e.marketing.ConsentOf(it, dsr.ChannelEmail).State != dsr.ConsentWithdrawn {
			t.Errorf("record after the click: %v", it)
		}
	}
	if len(e.mailer.Mails) != 0 {
		t.Error("a one-click request has no address to tell")
	}
}

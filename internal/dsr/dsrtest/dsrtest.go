// Package dsrtest holds the domain's test fixtures, shared by the tests of
// the packages that use the domain.
package dsrtest

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/privacyops/dsr/internal/dsr"
)

// RegistryYAML declares two purposes: marketing (direct marketing, deleted on
// erasure, with an e-mail and a postal consent and a frequency) and billing (a statutory duty: restricted for 10 years, its
// identifier attribute named differently).
const RegistryYAML = `
- purpose: marketing
  table: T-marketing
  subjectIndex: by-subject
  identifier: email
  subjectKeyAttribute: dsrSubjectKey
  title: {de: Werbung, en: Advertising}
  description: {de: Werbung, en: Ads}
  categories: {de: [Kontaktdaten, Werbesegment], en: [contact data, advertising segment]}
  automatedDecisions:
    de: Ein Segment wählt die Werbung; keine rechtliche Wirkung.
    en: A segment chooses the ads; no legal effect.
  labels:
    email: {de: E-Mail-Adresse, en: e-mail address}
    segment: {de: Werbesegment, en: advertising segment}
  legalBasis: consent
  directMarketing: true
  channels:
    email: {consent: emailConsentAt, withdrawn: emailWithdrawnAt}
    post: {consent: postConsentAt, withdrawn: postWithdrawnAt}
  frequency: {attribute: frequency, values: [weekly, monthly]}
  retention: {de: 2 Jahre, en: 2 years}
  erasure: delete
  objection: delete
  portable: true
  provided: [email]
- purpose: billing
  table: T-billing
  subjectIndex: by-subject
  identifier: customerEmail
  subjectKeyAttribute: dsrSubjectKey
  title: {de: Rechnungen, en: Invoices}
  description: {de: Rechnungen, en: Invoices}
  categories: {de: [Rechnungsdaten], en: [invoice data]}
  automatedDecisions: none
  labels:
    customerEmail: {de: E-Mail-Adresse, en: e-mail address}
    invoiceNumber: {de: Rechnungsnummer, en: invoice number}
  legalBasis: legal obligation
  retention: {de: 10 Jahre, en: 10 years}
  retentionYears: 10
  retainedAttributes: [invoiceNumber, amountCents]
  erasure: restrict
  objection: restrict
`

// Registry returns RegistryYAML parsed.
func Registry(t testing.TB) dsr.Registry {
	t.Helper()
	reg, err := dsr.ParseRegistry([]byte(RegistryYAML))
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// Mailer records the mails it is given, or fails with Err when it is set.
type Mailer struct {
	Mails []dsr.Mail
	Err   error
	mu    sync.Mutex
}

// Send records mail unless m.Err is set. Concurrent sends are safe.
func (m *Mailer) Send(_ context.Context, mail dsr.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	m.Mails = append(m.Mails, mail)
	return nil
}

// LockedBuffer collects output written from several goroutines (a process's
// output, metrics) while a test reads it, as os.Stdout takes concurrent writes.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Step is the audit step of a test's own setup: a change the test makes
// directly in a store, which refuses a change without its step.
func Step(action dsr.AuditAction) dsr.Step {
	return dsr.Step{Actor: dsr.SystemActor("test"), Action: action, Detail: "set up by the test"}
}

// StepTo is the step that records a move to status to, as the pipeline
// records it.
func StepTo(to dsr.Status) dsr.Step {
	return Step(map[dsr.Status]dsr.AuditAction{
		dsr.StatusQueued: dsr.AuditVerified, dsr.StatusInProgress: dsr.AuditDispatched, dsr.StatusCompleted: dsr.AuditCompleted,
		dsr.StatusFailed: dsr.AuditFailed, dsr.StatusRejected: dsr.AuditRejected, dsr.StatusExpired: dsr.AuditExpired,
	}[to])
}

// Policy is the provenance policy of a deployment left at its defaults:
// two years for a purpose that says nothing else, and the Commission's
// adequacy decisions (dsr.DefaultAdequacy).
func Policy(t testing.TB) dsr.ProvenancePolicy {
	t.Helper()
	a, err := dsr.ParseAdequacy(dsr.DefaultAdequacy)
	if err != nil {
		t.Fatal(err)
	}
	return dsr.ProvenancePolicy{Years: dsr.DefaultProvenanceYears, Adequacy: a}
}

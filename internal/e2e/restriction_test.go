//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/privacyops/dsr/internal/devstack"
	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
	"github.com/privacyops/dsr/internal/retention"
)

// TestRestrictionEndsEndToEnd: ada erases; her 2020 invoice is restricted
// until 2029-01-01 (8 years, Art. 17(3)(b)). The retention job fired in
// 2031 deletes it (Art. 5(1)(e), 17(1)) and nothing else of hers, records
// it on the erasure's trail once, and tells the recipient of her billing
// data (Art. 19) without naming her again; fired once more, it does neither
// again.
func TestRestrictionEndsEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	erasure := submitVerified(t, c, outbox, map[string]any{"type": "erasure", "email": seed.Ada})
	fetchCertificate(t, c, erasure, 90*time.Second)
	receiveMessages(t, cfg, stack.QueueURL("RecipientNoticeQueue"), 3, 20*time.Second) // the erasure's own notices
	_, hasher := provenanceOf(t, cfg, stack)
	adaKey := hasher.Subject(seed.Ada)
	if n := takeCensus(t, cfg, stack.Registry)["billing"][adaKey]; n != [2]int{4, 4} {
		t.Fatalf("ada's restricted invoices after the erasure: %v, want 4", n)
	}

	fire := func(at time.Time) retention.Summary { return fireRetention(t, stack, at) }
	if sum := fire(time.Date(2028, 12, 31, 12, 0, 0, 0, time.UTC)); sum.RestrictedDeleted != 0 {
		t.Errorf("fired on 2028-12-31: %+v, want nothing restricted deleted before its day", sum)
	}
	sum := fire(time.Date(2031, 1, 2, 3, 0, 0, 0, time.UTC))
	if sum.RestrictedDeleted != 1 {
		t.Errorf("fired in 2031: %+v, want the 2020 invoice deleted", sum)
	}
	checkRestrictedInvoices(t, cfg, stack.Registry, adaKey, 3)
	msgs := receiveMessages(t, cfg, stack.QueueURL("RecipientNoticeQueue"), 1, 20*time.Second)
	var n dsr.RecipientNotice
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &n); err != nil || n.Recipient != "Tax Advisers LLP" || n.Email != "" || n.RefersTo == "" ||
		n.RequestID != erasure.ID || len(n.Purposes) != 1 || n.Purposes[0].Action != dsr.ActionDelete {
		t.Errorf("notice %s: %v; want one to Tax Advisers LLP, deleted, without the address", aws.ToString(msgs[0].Body), err)
	}
	trail := func() []dsr.AuditEntry { return stepsOf(t, cfg, stack, erasure.ID, dsr.AuditRestrictionEnded) }
	if ended := trail(); len(ended) != 1 || ended[0].Detail != "purpose billing: the records restricted until 2029-01-01 deleted, their statutory duty having ended (Art. 17(1), 17(3)(b)); read back; 1 recipient(s) told (Art. 19)" {
		t.Errorf("the erasure's trail: %+v, want one restriction_ended", ended)
	}
	if sum := fire(time.Date(2031, 1, 3, 3, 0, 0, 0, time.UTC)); sum.RestrictedDeleted != 0 || len(trail()) != 1 {
		t.Errorf("fired again: %+v, %d steps", sum, len(trail()))
	}
	checkRestrictedInvoices(t, cfg, stack.Registry, adaKey, 3)
}

// fireRetention runs the stack's retention job as its schedule would at at.
func fireRetention(t *testing.T, stack *devstack.Stack, at time.Time) retention.Summary {
	t.Helper()
	out, err := stack.Fire(context.Background(), "RetentionFunction", at)
	if err != nil {
		t.Fatal(err)
	}
	var sum retention.Summary
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatal(err)
	}
	return sum
}

// stepsOf returns the steps of request id's trail whose action is action.
func stepsOf(t *testing.T, cfg aws.Config, stack *devstack.Stack, id string, action dsr.AuditAction) []dsr.AuditEntry {
	t.Helper()
	entries, err := (&dynamo.Audit{Client: dynamodb.NewFromConfig(cfg), Table: stack.Names["AuditTable"].Ref}).Entries(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []dsr.AuditEntry
	for _, e := range entries {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// TestExtendRestrictionEndToEnd: after ada's erasure, a tax assessment of
// 2020 is still open: the DPO keeps her 2020 invoice (restricted until
// 2029-01-01) until 2031-06-30 through the DPO route (Art. 17(3)(b)); her
// later invoices keep their later ends. A bad body is a 400 naming the
// field. Her billing data went to the tax office in 2020 (the CRM's event
// on the provenance queue): that provenance would expire on 2029-06-15
// (billing's nine years), so the same route keeps it until 2031-06-30, and
// the retention job of 2029-06-16 leaves it. The job leaves the invoice in
// 2030 and deletes it, and tells both its recipients, the tax office too,
// once 2031-06-30 has come (Art. 5(1)(e), 17(1), 19); the provenance goes
// then.
func TestExtendRestrictionEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	store, hasher := provenanceOf(t, cfg, stack)
	adaKey := hasher.Subject(seed.Ada)
	sendMessages(t, cfg, stack.QueueURL("ProvenanceQueue"),
		`{"email":"ada@example.com","purpose":"billing","event":"disclosed","recipient":"Finanzamt München","country":"DE","at":"2020-06-15T09:00:00Z"}`)
	taxOffice := func(asOf time.Time) *dsr.ProvenanceEntry {
		entries, err := store.Subject(context.Background(), adaKey, "billing", asOf)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range entries {
			if e.Recipient == "Finanzamt München" {
				return &entries[i]
			}
		}
		return nil
	}
	for deadline := time.Now().Add(20 * time.Second); taxOffice(time.Time{}) == nil; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the disclosure of 2020 was not stored")
		}
	}
	if e := taxOffice(time.Time{}); !e.ExpiresAt.Equal(time.Date(2029, 6, 15, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("the disclosure of 2020 expires %v, want billing's nine years", e.ExpiresAt)
	}
	erasure := submitVerified(t, c, outbox, map[string]any{"type": "erasure", "email": seed.Ada})
	fetchCertificate(t, c, erasure, 90*time.Second)
	receiveMessages(t, cfg, stack.QueueURL("RecipientNoticeQueue"), 4, 20*time.Second) // the erasure's own notices
	path := "/v1/dpo/requests/" + erasure.ID + "/restrictions"
	if s, raw := c.dpoDo("POST", path, stack.DpoToken, map[string]string{"purpose": "billing", "until": "2031-13-01", "reason": "audit"}, nil); s != 400 ||
		!strings.Contains(string(raw), `"errors":[{"field":"until",`) {
		t.Errorf("a bad until: %d %s", s, raw)
	}
	if s, raw := c.dpoDo("POST", path, "", map[string]string{"purpose": "billing", "until": "2031-06-30", "reason": "audit"}, nil); s != 401 {
		t.Errorf("without a token: %d %s", s, raw)
	}
	var got struct {
		Purpose, Until                      string
		RecordsExtended, ProvenanceExtended int
	}
	body := map[string]string{"purpose": "billing", "until": "2031-06-30", "reason": "The 2020 tax assessment is still open."}
	if s, raw := c.dpoDo("POST", path, stack.DpoToken, body, &got); s != 200 || got.RecordsExtended != 1 || got.Until != "2031-06-30" || got.ProvenanceExtended != 1 {
		t.Fatalf("extend: %d %s, want the 2020 invoice moved, and the tax office's provenance", s, raw)
	}
	if s, raw := c.dpoDo("POST", path, stack.DpoToken, body, &got); s != 200 || got.RecordsExtended != 0 || got.ProvenanceExtended != 0 {
		t.Errorf("extend again: %d %s, want nothing moved", s, raw)
	}
	until := time.Date(2031, 6, 30, 0, 0, 0, 0, time.UTC)
	if e := taxOffice(time.Time{}); e == nil || !e.ExpiresAt.Equal(until) {
		t.Errorf("the tax office's provenance: %+v, want it kept until 2031-06-30", e)
	}
	if steps := stepsOf(t, cfg, stack, erasure.ID, dsr.AuditRestrictionExtended); len(steps) != 1 || steps[0].Actor == "" ||
		steps[0].Detail != "purpose billing: statutory restriction extended until 2031-06-30" {
		t.Errorf("extension steps: %+v", steps)
	}
	if sum := fireRetention(t, stack, time.Date(2029, 6, 16, 3, 0, 0, 0, time.UTC)); sum.RestrictedDeleted != 0 || taxOffice(time.Date(2029, 6, 16, 3, 0, 0, 0, time.UTC)) == nil {
		t.Errorf("fired on 2029-06-16: %+v; want the tax office's provenance kept past its nine years, with the invoice", sum)
	}
	if sum := fireRetention(t, stack, time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)); sum.RestrictedDeleted != 0 {
		t.Errorf("fired in 2030: %+v, want the extended invoice kept", sum)
	}
	checkRestrictedInvoices(t, cfg, stack.Registry, adaKey, 4)
	if sum := fireRetention(t, stack, time.Date(2031, 7, 1, 3, 0, 0, 0, time.UTC)); sum.RestrictedDeleted != 1 {
		t.Errorf("fired on 2031-07-01: %+v, want the extended invoice deleted", sum)
	}
	checkRestrictedInvoices(t, cfg, stack.Registry, adaKey, 3)
	told := map[string]bool{}
	for _, m := range receiveMessages(t, cfg, stack.QueueURL("RecipientNoticeQueue"), 2, 20*time.Second) {
		var n dsr.RecipientNotice
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &n); err != nil {
			t.Fatal(err)
		}
		told[n.Recipient] = true
	}
	if !told["Finanzamt München"] || !told["Tax Advisers LLP"] {
		t.Errorf("told %v at the end of the restriction, want both billing recipients", told)
	}
	if e := taxOffice(time.Time{}); e != nil {
		t.Errorf("the tax office's provenance after the records went: %+v", e)
	}
	if ended := stepsOf(t, cfg, stack, erasure.ID, dsr.AuditRestrictionEnded); len(ended) != 1 || !strings.Contains(ended[0].Detail, "until 2031-06-30") {
		t.Errorf("ended steps: %+v", ended)
	}
}

// TestOverrideToldBeforeLiftEndToEnd: Art. 18(3): ada objects to customer
// care; the DPO overrides while e-mail cannot be sent: the answer is 503,
// her records stay restricted and the decision pending. Once mail works,
// the override is told to her and only then lifted.
func TestOverrideToldBeforeLiftEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	sub := submitVerified(t, c, outbox, map[string]any{"type": "objection", "email": seed.Ada, "purposes": []string{"customer_care"}, "grounds": "no more calls"})
	awaitDecision(t, c, stack.DpoToken, sub.ID, "customer_care") // restricted, and in progress until the DPO decides (Art. 21(1))
	restricted := func() [2]int { return takeCensus(t, cfg, stack.Registry)["customer_care"][seed.Ada] }
	if n := restricted(); n[0] == 0 || n[1] != n[0] {
		t.Fatalf("customer_care after the objection: %v, want all restricted", n)
	}
	body := map[string]string{"purpose": "customer_care", "outcome": "overridden", "grounds": "We need the notes of your open warranty claim."}
	decision := func() string {
		var v struct {
			Purposes []struct{ Purpose, Decision string } `json:"purposes"`
		}
		c.dpoDo("GET", "/v1/dpo/requests/"+sub.ID, stack.DpoToken, nil, &v)
		for _, p := range v.Purposes {
			if p.Purpose == "customer_care" {
				return p.Decision
			}
		}
		return ""
	}

	// The outbox cannot be written: every mail fails.
	away := outbox + ".away"
	if err := os.Rename(outbox, away); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outbox, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, raw := c.dpoDo("POST", "/v1/dpo/requests/"+sub.ID+"/objection-decision", stack.DpoToken, body, nil)
	time.Sleep(2 * time.Second) // time for a lifting task, were one queued, to be applied
	if n := restricted(); s != 503 || n[1] != n[0] || decision() != dsr.DecisionPending {
		t.Errorf("override while mail fails: %d %s; customer_care %v, decision %q; want 503, all still restricted, pending", s, raw, n, decision())
	}
	if err := os.Remove(outbox); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(away, outbox); err != nil {
		t.Fatal(err)
	}

	if s, raw := c.dpoDo("POST", "/v1/dpo/requests/"+sub.ID+"/objection-decision", stack.DpoToken, body, nil); s != 200 {
		t.Fatalf("override: %d %s", s, raw)
	}
	mailTo(t, outbox, sub.ID, seed.Ada, "our decision")
	for deadline := time.Now().Add(60 * time.Second); decision() != dsr.DecisionOverridden; time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("override not applied: %q", decision())
		}
	}
	if n := restricted(); n[0] == 0 || n[1] != 0 {
		t.Errorf("customer_care after the override: %v, want kept and none restricted", n)
	}
}

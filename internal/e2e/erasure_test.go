//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
)

// census counts each purpose table's items by subject, and how many of them
// are restricted. It scans: a test may, the pipeline never does.
type census map[string]map[string][2]int // purpose → subject → {items, restricted}

func takeCensus(t *testing.T, cfg aws.Config, reg dsr.Registry) census {
	t.Helper()
	c := census{}
	ddb := dynamodb.NewFromConfig(cfg)
	for _, p := range reg {
		c[p.Name] = map[string][2]int{}
		pages := dynamodb.NewScanPaginator(ddb, &dynamodb.ScanInput{TableName: aws.String(p.Table)})
		for pages.HasMorePages() {
			out, err := pages.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, item := range out.Items {
				// By person: the address as the one rule reads it, however
				// the CRM stored it.
				s, _ := item[p.Identifier].(*types.AttributeValueMemberS)
				who := s.Value
				if n, err := dsr.NormalizeEmail(who); err == nil {
					who = n
				}
				n := c[p.Name][who]
				n[0]++
				if _, ok := item[dynamo.RestrictionAttribute]; ok {
					n[1]++
				}
				c[p.Name][who] = n
			}
		}
	}
	return c
}

// without returns c without the subjects named.
func (c census) without(subjects ...string) census {
	out := census{}
	for p, m := range c {
		out[p] = map[string][2]int{}
		for s, n := range m {
			if !slices.Contains(subjects, s) {
				out[p][s] = n
			}
		}
	}
	return out
}

// submitVerified submits body for address, verifies it with the e-mailed
// code, and returns the submission.
func submitVerified(t *testing.T, c *client, outbox string, body map[string]any) submitted {
	t.Helper()
	var sub submitted
	if s, _, b := c.do("POST", "/v1/requests", "", body, &sub); s != http.StatusAccepted {
		t.Fatalf("submit %v: %d %s", body["type"], s, b)
	}
	code := codeFromOutboxFor(t, outbox, sub.ID, strings.ToLower(strings.TrimSpace(body["email"].(string))))
	if s, _, b := c.do("POST", "/v1/requests/"+sub.ID+"/verify", sub.StatusToken, map[string]string{"code": code}, nil); s != http.StatusOK {
		t.Fatalf("verify: %d %s", s, b)
	}
	return sub
}

type certView struct {
	Status string `json:"status"`
	Result struct {
		Certificate string           `json:"certificate"`
		Recipients  []map[string]any `json:"recipients"`
	} `json:"result"`
}

// fetchCertificate waits for the request to complete and downloads its
// certificate as the person would.
func fetchCertificate(t *testing.T, c *client, sub submitted, limit time.Duration) (dsr.Certificate, []byte) {
	t.Helper()
	v := pollUntilDone(t, c, sub, limit)
	_ = v
	var cv certView
	if s, _, b := c.do("GET", "/v1/requests/"+sub.ID, sub.StatusToken, nil, &cv); s != 200 {
		t.Fatalf("status: %d %s", s, b)
	}
	if cv.Result.Certificate != "/v1/requests/"+sub.ID+"/certificate" || cv.Result.Recipients == nil {
		t.Errorf("result of a completed %s: %+v (want the certificate route and recipients: [])", sub.Type, cv.Result)
	}
	if s, _, _ := c.do("GET", "/v1/requests/"+sub.ID+"/report", sub.StatusToken, nil, nil); s != http.StatusConflict {
		t.Errorf("report of a %s: %d, want 409", sub.Type, s)
	}
	var l link
	if s, _, b := c.do("GET", cv.Result.Certificate, sub.StatusToken, nil, &l); s != 200 {
		t.Fatalf("certificate link: %d %s", s, b)
	}
	raw := download(t, l.URL)
	var cert dsr.Certificate
	if err := json.Unmarshal(raw, &cert); err != nil {
		t.Fatalf("certificate is not JSON: %v\n%s", err, raw)
	}
	return cert, raw
}

// checkSuppressed asks the IAM-authorized suppression route, signed with the
// stack's credentials as the CRM would sign with its role's.
func checkSuppressed(t *testing.T, cfg aws.Config, base, email, purpose, consentAt string) dsr.SuppressionStatus {
	t.Helper()
	check := map[string]string{"email": email, "purpose": purpose}
	if consentAt != "" {
		check["consentAt"] = consentAt
	}
	var st dsr.SuppressionStatus
	if status, raw := signedPost(t, cfg, base, "/v1/suppressions/check", check, &st); status != 200 {
		t.Fatalf("suppression check: %d %s", status, raw)
	}
	return st
}

func outcomesByPurpose(c dsr.Certificate) map[string]dsr.PurposeOutcome {
	m := map[string]dsr.PurposeOutcome{}
	for _, o := range c.Purposes {
		m[o.Purpose] = o
	}
	return m
}

// TestErasureEndToEnd erases ada through the public API after she had an
// access report: nothing of her is left in marketing, newsletter and
// customer_care; her billing items are restricted with a date; her earlier
// report is gone; the certificate says so without personal data; she is
// suppressed for every purpose; nobody else's items changed.
func TestErasureEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}

	access := submitVerified(t, c, outbox, map[string]any{"type": "access", "email": seed.Ada})
	pollUntilDone(t, c, access, 90*time.Second)
	if s, _, b := c.do("GET", "/v1/requests/"+access.ID+"/report", access.StatusToken, nil, nil); s != 200 {
		t.Fatalf("access report before the erasure: %d %s", s, b)
	}
	before := takeCensus(t, cfg, stack.Registry)

	erasure := submitVerified(t, c, outbox, map[string]any{"type": "erasure", "email": "Ada@Example.com"})
	cert, raw := fetchCertificate(t, c, erasure, 90*time.Second)
	after := takeCensus(t, cfg, stack.Registry)

	for _, purpose := range []string{"marketing", "newsletter", "customer_care"} {
		if n := after[purpose][seed.Ada]; n[0] != 0 {
			t.Errorf("%s: %d of ada's items left", purpose, n[0])
		}
	}
	// Billing: ada's invoice of 2014 is past its 8 years (deletable from
	// 2023-01-01) and deleted (Art. 17(1)); her four others are restricted
	// (Art. 17(3)(b)) and hold her subject key instead of her address, so
	// the census finds them under the key.
	_, hasher := provenanceOf(t, cfg, stack)
	adaKey := hasher.Subject(seed.Ada)
	if b, a, left := before["billing"][seed.Ada], after["billing"][adaKey], after["billing"][seed.Ada]; b != [2]int{5, 0} || a != [2]int{4, 4} || left[0] != 0 {
		t.Errorf("billing: ada had %v items (restricted), now %v under her address and %v under her key; want 5, then none and 4 restricted", b, left, a)
	}
	checkRestrictedInvoices(t, cfg, stack.Registry, adaKey, 4)
	if diff := fmt.Sprint(before.without(seed.Ada)); diff != fmt.Sprint(after.without(seed.Ada, adaKey)) {
		t.Errorf("other subjects' items changed:\nbefore %v\nafter  %v", before.without(seed.Ada), after.without(seed.Ada, adaKey))
	}

	o := outcomesByPurpose(cert)
	for _, purpose := range []string{"marketing", "newsletter", "customer_care"} {
		if got, want := o[purpose].ItemsDeleted, before[purpose][seed.Ada][0]; got != want || o[purpose].Action != dsr.ActionDelete || !o[purpose].Verified {
			t.Errorf("certificate %s: %+v, want %d deleted and verified", purpose, o[purpose], want)
		}
	}
	// Ada's invoices date from 2026 (two), 2023, 2020 and 2014 (issuedOn,
	// the registry's retentionFrom): each is restricted for its own 8
	// years, but the one of 2014, whose duty has ended, is deleted.
	last, first := time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	if b := o["billing"]; b.ItemsRestricted != 4 || b.ItemsDeleted != 1 || b.RecordsFound != 5 || b.RestrictedUntil == nil || !b.RestrictedUntil.Equal(last) ||
		b.FirstDeletableAt == nil || !b.FirstDeletableAt.Equal(first) || b.ReadBack.Restricted != b.ItemsRestricted || !strings.Contains(b.Reason, "Art. 17(1)") {
		t.Errorf("certificate billing: %+v, want 1 deleted and 4 restricted until %s, the first deletable from %s", b, last, first)
	}
	// Art. 19: ada's recipients (seeded provenance) are in the certificate
	// and the result, and each gets one notice; the provenance of the
	// deleted purposes is gone, billing's (restricted) stays.
	wantRecipients := map[string]string{"Example Print GmbH": "[marketing]", "Mailer Inc.": "[newsletter]", "Tax Advisers LLP": "[billing]"}
	if len(cert.Recipients) != len(wantRecipients) {
		t.Errorf("certificate recipients: %+v", cert.Recipients)
	}
	for _, r := range cert.Recipients {
		if fmt.Sprint(r.Purposes) != wantRecipients[r.Recipient] {
			t.Errorf("certificate recipient %+v", r)
		}
	}
	var cv certView
	c.do("GET", "/v1/requests/"+erasure.ID, erasure.StatusToken, nil, &cv)
	if len(cv.Result.Recipients) != len(wantRecipients) {
		t.Errorf("result recipients: %+v", cv.Result.Recipients)
	}
	for _, m := range receiveMessages(t, cfg, stack.QueueURL("RecipientNoticeQueue"), len(wantRecipients), 20*time.Second) {
		var n dsr.RecipientNotice
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &n); err != nil || n.Email != seed.Ada || n.RequestID != erasure.ID || n.NoticeID == "" || len(n.Purposes) != 1 {
			t.Errorf("notice %s: %v", aws.ToString(m.Body), err)
		}
		delete(wantRecipients, n.Recipient)
	}
	if len(wantRecipients) != 0 {
		t.Errorf("no notice to %v", wantRecipients)
	}
	store, hasher := provenanceOf(t, cfg, stack)
	left, err := store.Subject(context.Background(), hasher.Subject(seed.Ada), "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		if e.Purpose != "billing" {
			t.Errorf("provenance of erased %s left: %+v", e.Purpose, e)
		}
	}
	if len(left) != 2 {
		t.Errorf("billing's provenance: %+v, want its 2 entries kept with the restricted records", left)
	}
	if cert.EarlierReportsDeleted != 1 || cert.Suppress.Reason != dsr.SuppressedByErasure || len(cert.Suppress.Purposes) != 1 || cert.Suppress.Purposes[0] != dsr.ScopeAll {
		t.Errorf("certificate: earlier reports %d, suppression %+v", cert.EarlierReportsDeleted, cert.Suppress)
	}
	pitr, provenanceCopy := 0, false
	for _, cp := range cert.CopiesElsewhere {
		if cp.Kind == "point_in_time_recovery" && cp.Until != nil {
			if cp.Resource == "provenance" {
				provenanceCopy = true
			} else {
				pitr++
			}
		}
	}
	if pitr != 3 || !provenanceCopy {
		t.Errorf("copies elsewhere: %+v, want the PITR window of the three tables deleted from and of the provenance table", cert.CopiesElsewhere)
	}
	for _, personal := range []string{"ada", "contactid", "marketing-0", "inv-"} {
		if strings.Contains(strings.ToLower(string(raw)), personal) {
			t.Errorf("certificate holds %q:\n%s", personal, raw)
		}
	}
	if s, _, b := c.do("GET", "/v1/requests/"+access.ID+"/report", access.StatusToken, nil, nil); s != http.StatusGone {
		t.Errorf("earlier access report after the erasure: %d %s, want 410", s, b)
	}
	// The suppression per legal basis (Art. 17, 7(3)): the consent purposes
	// wait for new consent, customer care (legitimate interests) stays
	// blocked, billing (a legal obligation) takes new invoices but no old data.
	wantEffect := map[string]dsr.SuppressionEffect{
		"marketing": dsr.EffectUntilNewConsent, "newsletter": dsr.EffectUntilNewConsent,
		"customer_care": dsr.EffectBlocked, "billing": dsr.EffectNewDataOnly,
	}
	for _, p := range stack.Registry {
		st := checkSuppressed(t, cfg, stack.URL, " ADA@example.com", p.Name, "")
		if st.Effect != wantEffect[p.Name] || st.Suppressed != (st.Effect != dsr.EffectNewDataOnly) || st.Reason != dsr.SuppressedByErasure || st.Since == nil {
			t.Errorf("suppression of ada for %s: %+v, want effect %q", p.Name, st, wantEffect[p.Name])
		}
		if st := checkSuppressed(t, cfg, stack.URL, seed.Grace, p.Name, ""); st.Suppressed || st.Effect != "" {
			t.Errorf("grace suppressed for %s: %+v", p.Name, st)
		}
	}
	// A newsletter consent given after the erasure lets her subscribe anew, with new data only.
	consent := time.Now().UTC().Add(time.Minute).Format(time.RFC3339)
	if st := checkSuppressed(t, cfg, stack.URL, seed.Ada, "newsletter", consent); st.Suppressed || st.Effect != dsr.EffectNewDataOnly {
		t.Errorf("ada's newsletter with consent given after the erasure: %+v", st)
	}
	// Art. 5(1)(c), (e): the completed requests' records hold no plain
	// address, only the subject key and the masked form, in the store and in
	// the DPO's view.
	requests := &dynamo.Requests{Client: dynamodb.NewFromConfig(cfg), Table: stack.Names["RequestsTable"].Ref, AuditTable: stack.Names["AuditTable"].Ref}
	for _, sub := range []submitted{access, erasure} {
		r, err := requests.Get(context.Background(), sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != dsr.StatusCompleted || r.Email != "" || r.MaskedEmail != "a***@e***.com" || r.SubjectKey == "" || r.AddressRemovedAt.IsZero() {
			t.Errorf("completed request %s as stored: status %s, email %q, masked %q, subject key %q, address removed %s",
				sub.ID, r.Status, r.Email, r.MaskedEmail, r.SubjectKey, r.AddressRemovedAt)
		}
		var v dpoView
		if st, b := c.dpoDo("GET", "/v1/dpo/requests/"+sub.ID, stack.DpoToken, nil, &v); st != http.StatusOK || v.Subject != "a***@e***.com" {
			t.Errorf("DPO view of %s: %d, subject %q: %s", sub.ID, st, v.Subject, b)
		}
	}
	// The check is IAM-authorized: unsigned, it is refused.
	if s, h, b := c.do("POST", "/v1/suppressions/check", "", map[string]string{"email": seed.Ada, "purpose": "newsletter"}, nil); s != http.StatusForbidden || h.Get("Content-Type") != "application/problem+json" {
		t.Errorf("unsigned check: %d %s", s, b)
	}
}

// checkRestrictedInvoices: the billing table holds n items of the subject
// whose key is key, each restricted and holding only what the duty covers
// (the registry's retainedAttributes, the key, issuedOn, the subject key in
// place of the address, the mark): no address, no name.
func checkRestrictedInvoices(t *testing.T, cfg aws.Config, reg dsr.Registry, key string, n int) {
	t.Helper()
	p, _ := reg.Lookup("billing")
	want := append([]string{"invoiceId", p.Identifier, p.SubjectKeyAttribute, p.RetentionFrom, dynamo.RestrictionAttribute}, p.RetainedAttributes...)
	slices.Sort(want)
	out, err := dynamodb.NewFromConfig(cfg).Query(context.Background(), &dynamodb.QueryInput{
		TableName: &p.Table, IndexName: &p.SubjectIndex, KeyConditionExpression: aws.String("#k = :k"),
		ExpressionAttributeNames:  map[string]string{"#k": p.SubjectKeyAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": &types.AttributeValueMemberS{Value: key}},
	})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, k := range out.Items {
		item, err := dynamodb.NewFromConfig(cfg).GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &p.Table, Key: map[string]types.AttributeValue{"invoiceId": k["invoiceId"]}, ConsistentRead: aws.Bool(true)})
		if err != nil || item.Item == nil {
			continue
		}
		found++
		names := slices.Sorted(maps.Keys(item.Item))
		if !slices.Equal(names, want) {
			t.Errorf("a restricted invoice holds %v, want %v", names, want)
		}
		if id, _ := item.Item[p.Identifier].(*types.AttributeValueMemberS); id == nil || id.Value != key {
			t.Errorf("a restricted invoice's %s: %v, want the subject key", p.Identifier, item.Item[p.Identifier])
		}
		var plain map[string]any
		if err := attributevalue.UnmarshalMap(item.Item, &plain); err != nil {
			t.Fatal(err)
		}
		if raw := fmt.Sprint(plain); strings.Contains(raw, "@") || strings.Contains(raw, "Lovelace") || !strings.Contains(raw, "INV-") {
			t.Errorf("a restricted invoice holds personal data the duty does not cover: %s", raw)
		}
	}
	if found != n {
		t.Errorf("%d restricted invoices of the subject, want %d", found, n)
	}
}

// TestObjectionToDirectMarketingEndToEnd: grace (whom the CRM had also put on
// marketing and newsletter) objects to direct marketing: she is gone from
// those two and nothing else; customer_care and billing are intact and
// unrestricted; she is suppressed for those two purposes only.
func TestObjectionToDirectMarketingEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	ddb := dynamodb.NewFromConfig(cfg)
	for _, purpose := range []string{"marketing", "newsletter"} {
		p, _ := stack.Registry.Lookup(purpose)
		var items []map[string]types.AttributeValue
		for i := range 3 {
			av, _ := attributevalue.MarshalMap(map[string]any{"contactId": fmt.Sprintf("grace-%s-%d", purpose, i), p.Identifier: seed.Grace, "channel": "email"})
			items = append(items, av)
		}
		if err := dynamo.BatchPut(context.Background(), ddb, p.Table, items); err != nil {
			t.Fatal(err)
		}
	}
	waitKeyed(t, stack)
	before := takeCensus(t, cfg, stack.Registry)
	sub := submitVerified(t, c, outbox, map[string]any{"type": "objection", "email": seed.Grace, "scope": "direct_marketing"})
	cert, _ := fetchCertificate(t, c, sub, 90*time.Second)
	after := takeCensus(t, cfg, stack.Registry)

	for _, purpose := range []string{"marketing", "newsletter"} {
		if n := after[purpose][seed.Grace]; n[0] != 0 {
			t.Errorf("%s: %d of grace's items left", purpose, n[0])
		}
	}
	for _, purpose := range []string{"customer_care", "billing"} {
		if b, a := before[purpose][seed.Grace], after[purpose][seed.Grace]; a != b || a[1] != 0 || b[0] == 0 {
			t.Errorf("%s: grace's items %v before, %v after; want untouched", purpose, b, a)
		}
	}
	if fmt.Sprint(before.without(seed.Grace)) != fmt.Sprint(after.without(seed.Grace)) {
		t.Error("other subjects' items changed")
	}
	o := outcomesByPurpose(cert)
	if len(cert.Purposes) != 2 || o["marketing"].ItemsDeleted != 3 || o["newsletter"].ItemsDeleted != 3 || cert.Scope != dsr.ScopeDirectMarketing {
		t.Errorf("certificate: %+v", cert.Purposes)
	}
	for _, p := range stack.Registry {
		st := checkSuppressed(t, cfg, stack.URL, seed.Grace, p.Name, "")
		if want := p.DirectMarketing; st.Suppressed != want || (want && st.Reason != dsr.SuppressedByObjection) {
			t.Errorf("suppression of grace for %s: %+v, want suppressed %v", p.Name, st, want)
		}
	}
}

// awaitedDecision is a request as the DPO's list shows it while an Art.
// 21(1) decision is pending.
type awaitedDecision struct {
	ID               string     `json:"id"`
	Status           string     `json:"status"`
	DueAt            time.Time  `json:"dueAt"`
	AwaitingDecision bool       `json:"awaitingDecision"`
	DecisionDueAt    *time.Time `json:"decisionDueAt"`
}

// awaitDecision waits until the request id is in the DPO's list of
// requests awaiting a decision and its part of purpose is done (its records
// restricted: only then can the DPO decide), and returns it as listed.
func awaitDecision(t *testing.T, c *client, dpoToken, id, purpose string) *awaitedDecision {
	t.Helper()
	var found *awaitedDecision
	waitFor(t, "the objection in the DPO's list of requests awaiting a decision", 60*time.Second, func() bool {
		var page struct{ Items []awaitedDecision }
		if s, raw := c.dpoDo("GET", "/v1/dpo/requests?awaitingDecision=true", dpoToken, nil, &page); s != 200 {
			t.Fatalf("list: %d %s", s, raw)
		}
		for i := range page.Items {
			if page.Items[i].ID == id {
				found = &page.Items[i]
			}
		}
		return found != nil
	})
	waitFor(t, "the objected purpose's part done (its records restricted)", 60*time.Second, func() bool {
		var v struct{ Purposes []dsr.PurposeProgress }
		if s, raw := c.dpoDo("GET", "/v1/dpo/requests/"+id, dpoToken, nil, &v); s != 200 {
			t.Fatalf("detail: %d %s", s, raw)
		}
		return slices.ContainsFunc(v.Purposes, func(p dsr.PurposeProgress) bool { return p.Purpose == purpose && p.Done })
	})
	return found
}

// TestObjectionToLegitimateInterestEndToEnd: ada objects to customer care
// (legitimate interests): her items there are restricted, not deleted, and
// the request waits in progress for the DPO's decision on compelling grounds
// (Art. 21(1)): it is in the DPO list of requests awaiting a decision, due
// by the request's deadline, and it is not answered until the DPO decides.
// Upheld, her records are erased and the request completes, its certificate
// naming the decision; she is told.
func TestObjectionToLegitimateInterestEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	before := takeCensus(t, cfg, stack.Registry)
	sub := submitVerified(t, c, outbox, map[string]any{"type": "objection", "email": seed.Ada, "purposes": []string{"customer_care"}, "grounds": "I no longer want service calls"})

	found := awaitDecision(t, c, stack.DpoToken, sub.ID, "customer_care")
	if found.Status != "in_progress" || !found.AwaitingDecision || found.DecisionDueAt == nil || !found.DecisionDueAt.Equal(found.DueAt) {
		t.Errorf("listed %+v, want in progress, awaiting a decision due by its deadline", found)
	}
	after := takeCensus(t, cfg, stack.Registry)
	if b, a := before["customer_care"][seed.Ada], after["customer_care"][seed.Ada]; a[0] != b[0] || a[1] != b[0] {
		t.Errorf("customer_care: %v before, %v after; want all kept and restricted", b, a)
	}
	var v view
	if s, _, b := c.do("GET", "/v1/requests/"+sub.ID, sub.StatusToken, nil, &v); s != 200 || v.Status != "in_progress" {
		t.Errorf("before the decision: %d %s, want in progress (not answered)", s, b)
	}
	if files, _ := filepath.Glob(filepath.Join(outbox, "*-"+sub.ID+"-completed.eml")); len(files) != 0 {
		t.Errorf("answered before the decision: %v", files)
	}

	// The DPO finds no compelling grounds: the objection is upheld, ada's
	// customer_care records are erased for good, and the request answered.
	if s, raw := c.dpoDo("POST", "/v1/dpo/requests/"+sub.ID+"/objection-decision", stack.DpoToken,
		map[string]string{"purpose": "customer_care", "outcome": "upheld", "grounds": "Service notes are not needed any more."}, nil); s != 200 {
		t.Fatalf("decision: %d %s", s, raw)
	}
	cert, _ := fetchCertificate(t, c, sub, 90*time.Second)
	if cc := outcomesByPurpose(cert)["customer_care"]; cc.DecisionPending || cc.Decision != dsr.DecisionUpheld || cc.Action != dsr.ActionDelete || cc.ItemsDeleted != before["customer_care"][seed.Ada][0] {
		t.Errorf("certificate: %+v", cc)
	}
	final := takeCensus(t, cfg, stack.Registry)
	if n := final["customer_care"][seed.Ada][0]; n != 0 {
		t.Errorf("%d of ada's customer_care items left after the upheld objection", n)
	}
	if fmt.Sprint(final.without(seed.Ada)) != fmt.Sprint(before.without(seed.Ada)) {
		t.Error("other subjects' items changed")
	}
	mailTo(t, outbox, sub.ID, seed.Ada, "our decision")
	mailTo(t, outbox, sub.ID, seed.Ada, "Your request is answered")
	if s, raw := c.dpoDo("GET", "/v1/dpo/requests/"+sub.ID+"/audit", stack.DpoToken, nil, nil); s != 200 || !strings.Contains(string(raw), `"intact":true`) {
		t.Errorf("audit check: %d %s", s, raw)
	}
}

// faults injects DynamoDB throttling and UnprocessedItems into every client
// of a stack, as an SDK middleware: every n-th DynamoDB call is answered with
// ProvisionedThroughputExceededException before it is sent (the SDK retries
// it), and every BatchWriteItem writes only half its items, returning the
// rest as unprocessed. Every batch of tasks is sent twice (a redelivery).
// It also records the certificate objects written.
type faults struct {
	off          atomic.Bool // inject nothing: while the stack starts, and for a clean measurement
	every        int64
	calls        atomic.Int64
	throttled    atomic.Int64
	unprocessed  atomic.Int64
	duplicated   atomic.Int64
	mu           sync.Mutex
	certificates map[string]int
	byOp         map[string]int
}

func (f *faults) middleware(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("HalfBatches",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			switch p := in.Parameters.(type) {
			case *dynamodb.BatchWriteItemInput:
				if f.off.Load() {
					break
				}
				var rest map[string][]types.WriteRequest
				half := map[string][]types.WriteRequest{}
				for table, reqs := range p.RequestItems {
					n := (len(reqs) + 1) / 2
					half[table] = reqs[:n]
					if len(reqs[n:]) > 0 {
						rest = map[string][]types.WriteRequest{table: reqs[n:]}
						f.unprocessed.Add(int64(len(reqs[n:])))
					}
				}
				in.Parameters = &dynamodb.BatchWriteItemInput{RequestItems: half}
				out, md, err := next.HandleInitialize(ctx, in)
				if err == nil && rest != nil {
					res := out.Result.(*dynamodb.BatchWriteItemOutput)
					if res.UnprocessedItems == nil {
						res.UnprocessedItems = map[string][]types.WriteRequest{}
					}
					for table, reqs := range rest {
						res.UnprocessedItems[table] = append(res.UnprocessedItems[table], reqs...)
					}
				}
				return out, md, err
			case *sqs.SendMessageBatchInput:
				if f.off.Load() {
					break
				}
				// SQS delivers at least once: every task is sent twice, so
				// two workers may run the same purpose at the same time.
				dup := append([]sqstypes.SendMessageBatchRequestEntry(nil), p.Entries...)
				for _, e := range p.Entries {
					e.Id = aws.String(aws.ToString(e.Id) + "-dup")
					dup = append(dup, e)
				}
				f.duplicated.Add(int64(len(p.Entries)))
				in.Parameters = &sqs.SendMessageBatchInput{QueueUrl: p.QueueUrl, Entries: dup}
			case *s3.PutObjectInput:
				out, md, err := next.HandleInitialize(ctx, in)
				if err == nil && strings.HasSuffix(aws.ToString(p.Key), "/certificate.json") {
					f.mu.Lock()
					f.certificates[aws.ToString(p.Key)]++
					f.mu.Unlock()
				}
				return out, md, err
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before); err != nil {
		return err
	}
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("Throttle",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			if awsmiddleware.GetServiceID(ctx) == "DynamoDB" {
				op := awsmiddleware.GetOperationName(ctx)
				f.mu.Lock()
				f.byOp[op]++
				f.mu.Unlock()
				if !f.off.Load() && f.calls.Add(1)%f.every == 0 {
					f.throttled.Add(1)
					return middleware.DeserializeOutput{}, middleware.Metadata{}, &types.ProvisionedThroughputExceededException{Message: aws.String("injected by the test")}
				}
			}
			return next.HandleDeserialize(ctx, in)
		}), middleware.After)
}

func (f *faults) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byOp = map[string]int{}
}

// TestLargeErasureUnderFaults erases a subject with many items in one table
// (several query pages and many batch writes; DSR_ERASE_ITEMS, default 3000)
// while DynamoDB throttles and leaves batch items unprocessed and every task
// is delivered twice: nothing of the subject is left, the certificate counts
// every item once, and it is written exactly once. It logs items erased per second and DynamoDB calls per item.
func TestLargeErasureUnderFaults(t *testing.T) {
	n := 3000
	if v := os.Getenv("DSR_ERASE_ITEMS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	f := &faults{every: 7, certificates: map[string]int{}, byOp: map[string]int{}}
	// The stack's start (provisioning, seeding, the backfill) is not the
	// erasure: it runs without faults, which would otherwise make it fail now
	// and then (a seed batch throttled on every one of the SDK's attempts).
	f.off.Store(true)
	cfg := awsConfig(t, f.middleware)
	stack, outbox := startStack(t, cfg, nil)
	ctx := context.Background()
	p, _ := stack.Registry.Lookup("newsletter")
	big := "big.subject@example.org"
	clean := awsConfig(t) // seeding is not the erasure: no faults
	putSubjectItems(t, clean, stack, p, big, n)
	before := takeCensus(t, clean, stack.Registry)
	c := &client{t: t, base: stack.URL}
	f.reset()
	f.off.Store(os.Getenv("DSR_ERASE_NO_FAULTS") == "true")
	start := time.Now()
	sub := submitVerified(t, c, outbox, map[string]any{"type": "erasure", "email": big})
	cert, _ := fetchCertificate(t, c, sub, 5*time.Minute)
	elapsed := time.Since(start)
	after := takeCensus(t, clean, stack.Registry)

	if left := after["newsletter"][big][0]; left != 0 {
		t.Errorf("%d of %d items left", left, n)
	}
	if got := outcomesByPurpose(cert)["newsletter"].ItemsDeleted; got != n {
		t.Errorf("certificate counts %d deleted, want %d", got, n)
	}
	if fmt.Sprint(before.without(big)) != fmt.Sprint(after.without(big)) {
		t.Error("other subjects' items changed")
	}
	// Copies: the stack's pollers go on calling DynamoDB (the duplicated
	// tasks, the keying stream) and counting into the maps meanwhile.
	f.mu.Lock()
	certs, byOp := maps.Clone(f.certificates), maps.Clone(f.byOp)
	f.mu.Unlock()
	if len(certs) != 1 || certs[stackCertificateKey(sub.ID)] != 1 {
		t.Errorf("certificate objects written: %v, want exactly one", certs)
	}
	if !f.off.Load() && (f.throttled.Load() == 0 || f.unprocessed.Load() == 0 || f.duplicated.Load() == 0) {
		t.Errorf("no fault was injected (%d throttled, %d unprocessed, %d tasks duplicated)", f.throttled.Load(), f.unprocessed.Load(), f.duplicated.Load())
	}
	r, err := (&dynamo.Requests{Client: dynamodb.NewFromConfig(clean), Table: stack.Names["RequestsTable"].Ref, AuditTable: stack.Names["AuditTable"].Ref}).Get(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	pages := r.DoneParts["newsletter"] - 1 // the last chunk is the read-back
	if pipeline := r.CompletedAt.Sub(r.VerifiedAt); pipeline > 0 {
		t.Logf("verified to completed (dispatch, 4 purposes, read-backs, certificate): %s, %.0f items/s", pipeline.Round(time.Millisecond), float64(n)/pipeline.Seconds())
	}
	t.Logf("erased %d items in %s (%.0f items/s, submit to certificate); %d pages; %d throttled calls retried, %d items left unprocessed and retried, %d tasks delivered twice",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), pages, f.throttled.Load(), f.unprocessed.Load(), f.duplicated.Load())
	t.Logf("DynamoDB calls during the request, by operation (attempts, including injected throttles): %v", byOp)
	// Minimum for the request: per purpose one Query per page plus one
	// read-back Query (the three empty purposes: 2 each), one Query of the
	// requests' subject index, and one BatchWriteItem per 25 items (per page:
	// a page that is no multiple of 25 ends with a smaller batch).
	minQueries := pages + 1 + 2*(len(stack.Registry)-1) + 1
	t.Logf("Query %d (minimum %d) + BatchWriteItem %d (minimum %d) = %.4f calls per erased item (minimum %.4f)",
		byOp["Query"], minQueries, byOp["BatchWriteItem"], (n+24)/25,
		float64(byOp["Query"]+byOp["BatchWriteItem"])/float64(n), float64(minQueries+(n+24)/25)/float64(n))
}

func stackCertificateKey(id string) string { return "reports/" + id + "/certificate.json" }

// TestObjectionAnsweredWhereArticle21DoesNotApply: ada objects to
// ["newsletter","billing"]. The submission is accepted (billing rests on a
// legal obligation, where Art. 21 does not apply, and is not refused with a
// bare 400); newsletter is erased and suppressed (Art. 21(2), (3)); billing is
// untouched, not suppressed, and answered in the certificate with its legal
// basis, the reasons and the right to complain (Art. 12(4)). An unknown
// purpose stays a 400 naming the field.
func TestObjectionAnsweredWhereArticle21DoesNotApply(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	if s, _, b := c.do("POST", "/v1/requests", "", map[string]any{"type": "objection", "email": seed.Ada, "purposes": []string{"newsletter", "astrology"}}, nil); s != http.StatusBadRequest ||
		!strings.Contains(string(b), `"purposes[1]"`) {
		t.Errorf("unknown purpose: %d %s, want a 400 naming purposes[1]", s, b)
	}
	before := takeCensus(t, cfg, stack.Registry)
	sub := submitVerified(t, c, outbox, map[string]any{"type": "objection", "email": seed.Ada, "purposes": []string{"newsletter", "billing"}})
	cert, raw := fetchCertificate(t, c, sub, 90*time.Second)
	after := takeCensus(t, cfg, stack.Registry)
	if n := after["newsletter"][seed.Ada][0]; n != 0 || before["newsletter"][seed.Ada][0] == 0 {
		t.Errorf("newsletter: %d of ada's items left (had %d)", n, before["newsletter"][seed.Ada][0])
	}
	if b, a := before["billing"][seed.Ada], after["billing"][seed.Ada]; a != b || a[1] != 0 || b[0] == 0 {
		t.Errorf("billing: ada's items %v before, %v after; want untouched and unrestricted", b, a)
	}
	o := outcomesByPurpose(cert)
	billing, _ := stack.Registry.Lookup("billing")
	if nl := o["newsletter"]; nl.Action != dsr.ActionDelete || nl.ItemsDeleted == 0 || !nl.Verified {
		t.Errorf("newsletter outcome: %+v", nl)
	}
	b := o["billing"]
	if b.Action != dsr.ActionNone || b.Refusal == nil || b.RecordsFound != 0 || b.Refusal.LegalBasis != billing.LegalBasis ||
		!strings.Contains(b.Refusal.Reason, "Art. 21") || !strings.Contains(b.Refusal.Remedies, "supervisory authority (Art. 77") ||
		!strings.Contains(b.Refusal.Remedies, "judicial remedy") {
		t.Errorf("billing outcome: %+v (refusal %+v)", b, b.Refusal)
	}
	if strings.Contains(string(raw), seed.Ada) {
		t.Error("the certificate holds the address")
	}
	for _, p := range []string{"newsletter", "billing"} {
		st := checkSuppressed(t, cfg, stack.URL, seed.Ada, p, "")
		if want := p == "newsletter"; st.Suppressed != want {
			t.Errorf("suppression of ada for %s: %+v, want %v", p, st, want)
		}
	}
	var d struct {
		Audit []dsr.AuditEntry `json:"audit"`
	}
	if s, raw := c.dpoDo("GET", "/v1/dpo/requests/"+sub.ID, stack.DpoToken, nil, &d); s != 200 {
		t.Fatalf("detail: %d %s", s, raw)
	}
	refused := 0
	for _, e := range d.Audit {
		if e.Action == dsr.AuditPurposeDone && strings.Contains(e.Detail, "purpose billing") && strings.Contains(e.Detail, "objection refused") {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("%d audit steps record the refused part, want 1: %+v", refused, d.Audit)
	}
	if s, raw := c.dpoDo("GET", "/v1/dpo/requests/"+sub.ID+"/audit", stack.DpoToken, nil, nil); s != 200 || !strings.Contains(string(raw), `"intact":true`) {
		t.Errorf("audit check: %d %s", s, raw)
	}
}

// TestSupersededAccessIsAnswered: ada's access request is still queued
// (verified, not yet dispatched) when her erasure runs. The access request
// is not failed without an answer: it completes, its person is told, and its
// result is a statement, reachable like every result, that her data was
// erased (when, by which request) and what is kept under a legal duty until
// when, without personal data. Its trail passes the audit check.
func TestSupersededAccessIsAnswered(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	var access submitted
	if s, _, b := c.do("POST", "/v1/requests", "", map[string]string{"type": "access", "email": seed.Ada}, &access); s != http.StatusAccepted {
		t.Fatalf("submit access: %d %s", s, b)
	}
	// Verified and queued without a request message: it waits, as one
	// whose dispatch has not come yet.
	store := &dynamo.Requests{Client: dynamodb.NewFromConfig(cfg), Table: stack.Names["RequestsTable"].Ref, AuditTable: stack.Names["AuditTable"].Ref}
	now := time.Now().UTC()
	if err := store.Transition(context.Background(), access.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{VerifiedAt: now, DueAt: now.AddDate(0, 1, 0)},
		dsr.Step{Actor: dsr.SystemActor("test"), Action: dsr.AuditVerified, Detail: "verified by the test", At: now}); err != nil {
		t.Fatal(err)
	}
	erasure := submitVerified(t, c, outbox, map[string]any{"type": "erasure", "email": seed.Ada})
	cert, _ := fetchCertificate(t, c, erasure, 90*time.Second)

	v := pollUntilDone(t, c, access, 30*time.Second)
	_ = v
	var cv certView
	if s, _, b := c.do("GET", "/v1/requests/"+access.ID, access.StatusToken, nil, &cv); s != 200 || cv.Status != "completed" ||
		cv.Result.Certificate != "/v1/requests/"+access.ID+"/certificate" {
		t.Fatalf("superseded access request: %d %s", s, b)
	}
	if s, _, b := c.do("GET", "/v1/requests/"+access.ID+"/report", access.StatusToken, nil, nil); s != http.StatusConflict {
		t.Errorf("report of a superseded access request: %d %s, want 409", s, b)
	}
	var l link
	if s, _, b := c.do("GET", cv.Result.Certificate, access.StatusToken, nil, &l); s != 200 {
		t.Fatalf("answer link: %d %s", s, b)
	}
	raw := download(t, l.URL)
	var a dsr.SupersededAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, raw)
	}
	kept := map[string]*time.Time{}
	for _, p := range a.Purposes {
		kept[p.Purpose] = p.KeptUntil
	}
	billing := outcomesByPurpose(cert)["billing"]
	if a.RequestID != access.ID || a.ErasureRequestID != erasure.ID || !a.ErasedAt.Equal(cert.IssuedAt) || len(a.Purposes) != len(cert.Purposes) ||
		kept["marketing"] != nil || kept["billing"] == nil || !kept["billing"].Equal(*billing.RestrictedUntil) || !strings.Contains(a.Answer, "erased on") {
		t.Errorf("answer: %s", raw)
	}
	if strings.Contains(strings.ToLower(string(raw)), "ada@") {
		t.Errorf("the answer holds the address: %s", raw)
	}
	mailTo(t, outbox, access.ID, seed.Ada, "Your request is answered")
	if s, raw := c.dpoDo("GET", "/v1/dpo/requests/"+access.ID+"/audit", stack.DpoToken, nil, nil); s != 200 || !strings.Contains(string(raw), `"intact":true`) {
		t.Errorf("audit check of the superseded request: %d %s", s, raw)
	}
}

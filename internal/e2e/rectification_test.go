//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
)

// namesOf lists, per purpose, the name attribute of each of email's items
// ("-" for an item without one), sorted. It scans: a test may.
func namesOf(t *testing.T, cfg aws.Config, reg dsr.Registry, email string) map[string][]string {
	t.Helper()
	ddb := dynamodb.NewFromConfig(cfg)
	out := map[string][]string{}
	for _, p := range reg {
		pages := dynamodb.NewScanPaginator(ddb, &dynamodb.ScanInput{TableName: aws.String(p.Table)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, av := range page.Items {
				var it map[string]any
				if err := attributevalue.UnmarshalMap(av, &it); err != nil {
					t.Fatal(err)
				}
				if id, _ := it[p.Identifier].(string); strings.ToLower(strings.TrimSpace(id)) != email {
					continue
				}
				name, ok := it["name"].(string)
				if !ok {
					name = "-"
				}
				out[p.Name] = append(out[p.Name], name)
			}
		}
		slices.Sort(out[p.Name])
	}
	return out
}

// awaitRectification waits until request id is in the DPO's list of
// requests awaiting a decision: verified, dispatched, and waiting.
func awaitRectification(t *testing.T, c *client, dpoToken, id string) {
	t.Helper()
	waitFor(t, "the rectification in the DPO's list of requests awaiting a decision", 60*time.Second, func() bool {
		var page struct{ Items []awaitedDecision }
		if s, raw := c.dpoDo("GET", "/v1/dpo/requests?awaitingDecision=true&type=rectification", dpoToken, nil, &page); s != 200 {
			t.Fatalf("list: %d %s", s, raw)
		}
		return slices.ContainsFunc(page.Items, func(d awaitedDecision) bool { return d.ID == id && d.AwaitingDecision && d.Status == "in_progress" })
	})
}

// copies is n copies of s.
func copies(s string, n int) []string { return slices.Repeat([]string{s}, n) }

// TestRectificationEndToEnd: ada corrects her name. Bad input is refused
// naming the field; once verified, the request waits for the DPO and
// changes nothing; confirmed, every purpose holding name and marking it
// rectifiable holds the corrected name, read back, billing's invoices keep
// the name they were issued with and the certificate says so, and the
// recipients of the corrected purposes get the corrected value (Art. 19).
// Grace's correction is refused: she is told the reasons, the restriction
// she may ask for and her right to complain, and nothing of hers changes.
func TestRectificationEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	for field, body := range map[string]map[string]any{
		"attribute": {"type": "rectification", "email": seed.Ada, "attribute": "invoiceNumber", "corrected": "INV-1"},
		"corrected": {"type": "rectification", "email": seed.Ada, "attribute": "name", "corrected": "Ada\u0007King"},
		"purpose":   {"type": "rectification", "email": seed.Ada, "attribute": "name", "corrected": "Ada King", "purpose": "astrology"},
	} {
		if s, _, raw := c.do("POST", "/v1/requests", "", body, nil); s != http.StatusBadRequest || !strings.Contains(string(raw), `"field":"`+field+`"`) ||
			strings.Contains(string(raw), "Ada") {
			t.Errorf("%s: %d %s", field, s, raw)
		}
	}
	before, graceBefore := namesOf(t, cfg, stack.Registry, seed.Ada), namesOf(t, cfg, stack.Registry, seed.Grace)
	sub := submitVerified(t, c, outbox, map[string]any{"type": "rectification", "email": seed.Ada, "attribute": "name", "corrected": "Ada King",
		"evidence": "Married name since 1835.", "language": "de"})
	awaitRectification(t, c, stack.DpoToken, sub.ID)
	if got := namesOf(t, cfg, stack.Registry, seed.Ada); !slices.Equal(got["marketing"], before["marketing"]) {
		t.Errorf("changed before the DPO decided: %v", got)
	}
	if s, raw := c.dpoDo("POST", "/v1/dpo/requests/"+sub.ID+"/rectification-decision", stack.DpoToken, map[string]string{"outcome": "confirmed"}, nil); s != 200 {
		t.Fatalf("confirm: %d %s", s, raw)
	}
	cert, raw := fetchCertificate(t, c, sub, 90*time.Second)
	checkCorrected(t, cert, before, namesOf(t, cfg, stack.Registry, seed.Ada))
	if strings.Contains(string(raw), "Ada King") || strings.Contains(string(raw), "Ada Lovelace") || strings.Contains(string(raw), seed.Ada) {
		t.Errorf("the certificate holds personal data:\n%s", raw)
	}
	checkCorrectionNotices(t, cfg, stack.QueueURL("RecipientNoticeQueue"), sub.ID)
	mailTo(t, outbox, sub.ID, seed.Ada, "Ihre Anfrage ist beantwortet")

	refused := submitVerified(t, c, outbox, map[string]any{"type": "rectification", "email": seed.Grace, "attribute": "name", "corrected": "Grace Brewster",
		"purpose": "customer_care"})
	awaitRectification(t, c, stack.DpoToken, refused.ID)
	if s, raw := c.dpoDo("POST", "/v1/dpo/requests/"+refused.ID+"/rectification-decision", stack.DpoToken,
		map[string]string{"outcome": "refused", "reasons": "Your contract names you Grace Hopper."}, nil); s != 200 {
		t.Fatalf("refuse: %d %s", s, raw)
	}
	cert, _ = fetchCertificate(t, c, refused, 90*time.Second)
	if a := cert.Rectification; a == nil || a.Decision != dsr.RectificationRefused || !strings.Contains(a.Remedies, "Art. 18(1)(a)") {
		t.Errorf("refused: %+v", a)
	}
	mail := mailTo(t, outbox, refused.ID, seed.Grace, "Your correction: our decision")
	if !strings.Contains(mail, "Your contract names you Grace Hopper.") || !strings.Contains(mail, "Art. 18(1)(a)") {
		t.Errorf("refusal mail:\n%s", mail)
	}
	if got := namesOf(t, cfg, stack.Registry, seed.Grace); !equalNames(got, graceBefore) {
		t.Errorf("grace's names %v, before %v", got, graceBefore)
	}
	for _, id := range []string{sub.ID, refused.ID} {
		if s, raw := c.dpoDo("GET", "/v1/dpo/requests/"+id+"/audit", stack.DpoToken, nil, nil); s != 200 || !strings.Contains(string(raw), `"intact":true`) {
			t.Errorf("audit check: %d %s", s, raw)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(outbox, "*"+refused.ID+"*")); len(files) < 3 {
		t.Errorf("grace's mails: %v (code, refusal, answer)", files)
	}
}

func equalNames(a, b map[string][]string) bool {
	for k := range a {
		if !slices.Equal(a[k], b[k]) {
			return false
		}
	}
	return len(a) == len(b)
}

// checkCorrected: every purpose but billing holds only the corrected name
// where it held ada's name; billing keeps the issued one; the certificate
// counts each purpose's items.
func checkCorrected(t *testing.T, cert dsr.Certificate, before, after map[string][]string) {
	t.Helper()
	o := outcomesByPurpose(cert)
	if len(before) != len(cert.Purposes) {
		t.Errorf("ada has items in %d purposes, the certificate names %d", len(before), len(cert.Purposes))
	}
	for purpose, was := range before {
		want := copies("Ada King", len(was))
		if purpose == "billing" {
			want = was
		}
		if !slices.Equal(after[purpose], want) {
			t.Errorf("%s: names %v, want %v", purpose, after[purpose], want)
		}
		pr := o[purpose].Rectification
		if pr == nil || pr.ItemsHolding != len(was) || pr.Rectifiable != (purpose != "billing") || !o[purpose].Verified {
			t.Errorf("%s: certificate %+v %+v", purpose, o[purpose], pr)
			continue
		}
		if purpose != "billing" && (pr.ItemsCorrected != len(was) || o[purpose].Action != dsr.ActionRectify) {
			t.Errorf("%s: %d of %d corrected, action %s", purpose, pr.ItemsCorrected, len(was), o[purpose].Action)
		}
	}
	if b := o["billing"]; b.Action != dsr.ActionNone || !strings.Contains(b.Reason, "not rectifiable") || len(before["billing"]) == 0 {
		t.Errorf("billing: %+v", b)
	}
}

// checkCorrectionNotices: the recipients of the corrected purposes (the
// demo's: marketing's print shop, the newsletter's mailer) each get one
// notice with the corrected name; billing's tax advisers get none.
func checkCorrectionNotices(t *testing.T, cfg aws.Config, queueURL, id string) {
	t.Helper()
	got := map[string][]dsr.NoticePurpose{}
	for _, m := range receiveMessages(t, cfg, queueURL, 2, 20*time.Second) {
		var n dsr.RecipientNotice
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &n); err != nil || n.RequestID != id || n.Email != seed.Ada || n.Type != dsr.TypeRectification {
			t.Errorf("notice %s: %v", aws.ToString(m.Body), err)
		}
		got[n.Recipient] = n.Purposes
	}
	want := map[string][]dsr.NoticePurpose{
		"Example Print GmbH": {{Purpose: "marketing", Action: dsr.ActionRectify, Attribute: "name", Corrected: "Ada King"}},
		"Mailer Inc.":        {{Purpose: "newsletter", Action: dsr.ActionRectify, Attribute: "name", Corrected: "Ada King"}},
	}
	for r, p := range want {
		if !slices.Equal(got[r], p) {
			t.Errorf("notice to %s: %+v, want %+v", r, got[r], p)
		}
	}
	if len(got) != len(want) {
		t.Errorf("notices to %v, want the two recipients of the corrected purposes", slices.Sorted(maps.Keys(got)))
	}
}

// TestRectificationAWSCalls counts the AWS calls of ada's rectification of
// her name over the four demo purposes, from the submission to the answer,
// the DPO's confirmation included (status polls left out, as in
// TestAccessRequestAWSCalls). The correction is one conditional UpdateItem
// per item holding the name in a purpose marking it rectifiable, and no
// more; nothing scans; dispatch queues no task before the DPO decides.
func TestRectificationAWSCalls(t *testing.T) {
	var counter callCounter
	cfg := awsConfig(t, counter.middleware)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	waitKeyed(t, stack)
	before := namesOf(t, awsConfig(t), stack.Registry, seed.Ada)
	counter.reset()

	body := map[string]any{"type": "rectification", "email": seed.Ada, "attribute": "name", "corrected": "Ada King"}
	sub := submitVerified(t, c, outbox, body)
	polls := 0
	for v := (view{}); v.Status != "in_progress"; polls++ {
		if polls > 400 {
			t.Fatalf("not dispatched: %+v", v)
		}
		time.Sleep(100 * time.Millisecond)
		if s, _, raw := c.do("GET", "/v1/requests/"+sub.ID, sub.StatusToken, nil, &v); s != 200 {
			t.Fatalf("status: %d %s", s, raw)
		}
	}
	dispatched, _ := counter.snapshot()
	if s, raw := c.dpoDo("POST", "/v1/dpo/requests/"+sub.ID+"/rectification-decision", stack.DpoToken, map[string]string{"outcome": "confirmed"}, nil); s != 200 {
		t.Fatalf("confirm: %d %s", s, raw)
	}
	_, more := counter.untilDone(t, c, sub, 90*time.Second)
	polls += more
	byOp, byService := counter.without(polls)
	logCalls(t, fmt.Sprintf("one rectification over %d purposes, the DPO's confirmation included (%d status polls left out)", len(stack.Registry), polls), byOp, byService)

	corrected := 0
	for _, p := range stack.Registry {
		if p.Rectifies("name") {
			corrected += len(before[p.Name])
		}
	}
	if got := byOp["WorkerFunction DynamoDB.UpdateItem"]; got != corrected || corrected == 0 {
		t.Errorf("worker UpdateItem %d, want one per item corrected (%d)", got, corrected)
	}
	for k, n := range byOp {
		if strings.HasSuffix(k, ".Scan") && n > 0 {
			t.Errorf("%s: %d", k, n)
		}
	}
	if n := dispatched["DispatchFunction SQS.SendMessageBatch"] + dispatched["DispatchFunction SQS.SendMessage"]; n != 0 {
		t.Errorf("dispatch queued %d task batches before the decision", n)
	}
	if n := byOp["DpoFunction SQS.SendMessageBatch"]; n != 1 {
		t.Errorf("the DPO's decision queued %d task batches, want 1", n)
	}
}

//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/privacyops/dsr/internal/devstack"
	"github.com/privacyops/dsr/internal/devstack/seed"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
)

// marksOf are the reasons of the restriction marks on who's items of
// purpose, one per item ("" for an item without a mark). It scans: a test
// may, the pipeline never does.
func marksOf(t *testing.T, cfg aws.Config, p dsr.Purpose, who string) []string {
	t.Helper()
	var out []string
	pages := dynamodb.NewScanPaginator(dynamodb.NewFromConfig(cfg), &dynamodb.ScanInput{TableName: aws.String(p.Table)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			if s, _ := item[p.Identifier].(*types.AttributeValueMemberS); s == nil || !strings.EqualFold(strings.TrimSpace(s.Value), who) {
				continue
			}
			reason := ""
			if m, ok := item[dynamo.RestrictionAttribute].(*types.AttributeValueMemberM); ok {
				if r, ok := m.Value["reason"].(*types.AttributeValueMemberS); ok {
					reason = r.Value
				}
			}
			out = append(out, reason)
		}
	}
	slices.Sort(out)
	return out
}

// liftState is the state of purpose in request id as the DPO's detail
// shows it (restricted, lifted:applying, lifted).
func liftState(c *client, token, id, purpose string) string {
	var v struct {
		Purposes []struct{ Purpose, Decision string } `json:"purposes"`
	}
	c.dpoDo("GET", "/v1/dpo/requests/"+id, token, nil, &v)
	for _, p := range v.Purposes {
		if p.Purpose == purpose {
			return p.Decision
		}
	}
	return ""
}

// TestRestrictionLiftedOnlyAfterTheNoticeEndToEnd: grace restricts customer
// care and billing while the accuracy of her data is contested (Art.
// 18(1)(a)). Her items there are marked restricted with that ground, the
// request is answered with a certificate naming the ground and her right to
// be told before the lifting, billing's recipient is told (Art. 19), and the
// suppression check answers restricted for customer care. The DPO lifts
// customer care while no mail can be sent: 503, nothing lifted. Once mail
// works, the notice is in the outbox before the items lose their mark; then
// the suppression check answers allowed, the trail records the lifting
// once, and billing stays restricted.
func TestRestrictionLiftedOnlyAfterTheNoticeEndToEnd(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	care, _ := stack.Registry.Lookup("customer_care")
	billing, _ := stack.Registry.Lookup("billing")
	sub := submitVerified(t, c, outbox, map[string]any{"type": "restriction", "email": seed.Grace, "ground": dsr.GroundAccuracyContested,
		"purposes": []string{"customer_care", "billing"}, "reason": "my address is wrong", "language": "en"})
	cert, raw := fetchCertificate(t, c, sub, 90*time.Second)
	if strings.Contains(string(raw), seed.Grace) || strings.Contains(string(raw), "my address is wrong") {
		t.Errorf("certificate holds personal data:\n%s", raw)
	}
	checkRestrictionCertificate(t, cert, len(marksOf(t, cfg, care, seed.Grace)), len(marksOf(t, cfg, billing, seed.Grace)))
	notices := receiveMessages(t, cfg, stack.QueueURL("RecipientNoticeQueue"), 1, 20*time.Second)
	var n dsr.RecipientNotice
	if err := json.Unmarshal([]byte(aws.ToString(notices[0].Body)), &n); err != nil || n.Recipient != "Collections Partner SARL" ||
		len(n.Purposes) != 1 || n.Purposes[0] != (dsr.NoticePurpose{Purpose: "billing", Action: dsr.ActionRestrict}) {
		t.Errorf("notice %s: %v; want billing's recipient told of the restriction", aws.ToString(notices[0].Body), err)
	}
	if st := checkSuppressed(t, cfg, stack.URL, seed.Grace, "customer_care", ""); !st.Suppressed || st.Effect != dsr.EffectRestricted || st.Reason != dsr.SuppressedByRestriction {
		t.Errorf("suppression check while restricted: %+v, want restricted", st)
	}

	liftFailsWithoutMail(t, c, stack, outbox, sub.ID, cfg, care)
	body := map[string]string{"purpose": "customer_care", "reason": "We verified your address: it is correct."}
	if s, raw := c.dpoDo("POST", "/v1/dpo/requests/"+sub.ID+"/lift", stack.DpoToken, body, nil); s != 200 {
		t.Fatalf("lift: %d %s", s, raw)
	}
	mailTo(t, outbox, sub.ID, seed.Grace, "Your restriction will be lifted")
	waitFor(t, "customer care's restriction lifted", 60*time.Second, func() bool { return liftState(c, stack.DpoToken, sub.ID, "customer_care") == dsr.DecisionLifted })
	if got := marksOf(t, cfg, care, seed.Grace); slices.ContainsFunc(got, func(r string) bool { return r != "" }) {
		t.Errorf("customer_care marks after the lifting: %q, want none", got)
	}
	if st := checkSuppressed(t, cfg, stack.URL, seed.Grace, "customer_care", ""); st.Suppressed {
		t.Errorf("suppression check after the lifting: %+v, want allowed", st)
	}
	if got := marksOf(t, cfg, billing, seed.Grace); slices.Contains(got, "") {
		t.Errorf("billing marks: %q, want still restricted", got)
	}
	checkLiftTrail(t, c, cfg, stack, sub.ID)
	if s, raw := c.dpoDo("POST", "/v1/dpo/requests/"+sub.ID+"/lift", stack.DpoToken, body, nil); s != 409 {
		t.Errorf("lifting again: %d %s, want 409", s, raw)
	}
}

// checkRestrictionCertificate: both purposes restricted with the ground,
// every item found, and the person's right to be told before the lifting.
func checkRestrictionCertificate(t *testing.T, cert dsr.Certificate, care, billing int) {
	t.Helper()
	got := outcomesByPurpose(cert)
	for name, n := range map[string]int{"customer_care": care, "billing": billing} {
		o := got[name]
		if o.Action != dsr.ActionRestrict || o.Ground != dsr.GroundAccuracyContested || o.ItemsRestricted != n || n == 0 || !o.Verified || !strings.Contains(o.Reason, "Art. 18(1)(a)") {
			t.Errorf("certificate, %s: %+v, want %d items restricted on the ground of Art. 18(1)(a)", name, o, n)
		}
	}
	if len(cert.Purposes) != 2 || cert.Restriction == nil || cert.Restriction.Ground != dsr.GroundAccuracyContested || !strings.Contains(cert.Restriction.BeforeLifts, "Art. 18(3)") {
		t.Errorf("certificate: %d purposes, restriction %+v", len(cert.Purposes), cert.Restriction)
	}
	if len(cert.Recipients) != 1 || cert.Recipients[0].Recipient != "Collections Partner SARL" {
		t.Errorf("certificate recipients: %+v", cert.Recipients)
	}
}

// liftFailsWithoutMail: while the outbox cannot be written, a lifting is
// refused with 503, and the restriction holds: marks, state and the
// suppression check.
func liftFailsWithoutMail(t *testing.T, c *client, stack *devstack.Stack, outbox, id string, cfg aws.Config, care dsr.Purpose) {
	t.Helper()
	away := outbox + ".away"
	if err := os.Rename(outbox, away); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outbox, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, raw := c.dpoDo("POST", "/v1/dpo/requests/"+id+"/lift", stack.DpoToken, map[string]string{"purpose": "customer_care", "reason": "verified"}, nil)
	if err := os.Remove(outbox); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(away, outbox); err != nil {
		t.Fatal(err)
	}
	if s != 503 || liftState(c, stack.DpoToken, id, "customer_care") != dsr.RestrictionHeld {
		t.Errorf("lift while mail fails: %d %s, state %q; want 503, restricted", s, raw, liftState(c, stack.DpoToken, id, "customer_care"))
	}
	if got := marksOf(t, cfg, care, seed.Grace); slices.Contains(got, "") || got[0] != dsr.GroundAccuracyContested {
		t.Errorf("customer_care marks after the failed lifting: %q, want all %s", got, dsr.GroundAccuracyContested)
	}
	if st := checkSuppressed(t, cfg, stack.URL, seed.Grace, "customer_care", ""); st.Effect != dsr.EffectRestricted {
		t.Errorf("suppression check after the failed lifting: %+v, want restricted", st)
	}
}

// checkLiftTrail: the lifting is recorded once by the DPO, the person told
// with it, before the worker's step that lifted the marks; the trail is
// intact.
func checkLiftTrail(t *testing.T, c *client, cfg aws.Config, stack *devstack.Stack, id string) {
	t.Helper()
	decided := stepsOf(t, cfg, stack, id, dsr.AuditRestrictionLiftDecided)
	lifted := stepsOf(t, cfg, stack, id, dsr.AuditRestrictionLifted)
	told := stepsOf(t, cfg, stack, id, dsr.AuditPersonNotified)
	if len(decided) != 1 || len(lifted) != 1 || decided[0].Seq > lifted[0].Seq || !slices.ContainsFunc(told, func(e dsr.AuditEntry) bool {
		return strings.Contains(e.Detail, "lifting-customer_care") && e.Seq < lifted[0].Seq
	}) {
		t.Errorf("trail: decided %+v, lifted %+v, told %+v", decided, lifted, told)
	}
	if s, raw := c.dpoDo("GET", "/v1/dpo/requests/"+id+"/audit", stack.DpoToken, nil, nil); s != 200 || !strings.Contains(string(raw), `"intact":true`) {
		t.Errorf("audit check: %d %s", s, raw)
	}
}

// TestRestrictionRequestAWSCalls counts, as TestAccessRequestAWSCalls does,
// the DynamoDB, SQS and S3 calls of one restriction request of ada's over
// every purpose of the registry (submit, verify, the pipeline, one
// certificate link; status polls left out), and then of a DPO's lifting of
// one purpose (the route and the worker's task). Restricting and lifting
// are one conditional UpdateItem per item; nothing scans.
func TestRestrictionRequestAWSCalls(t *testing.T) {
	var counter callCounter
	cfg := awsConfig(t, counter.middleware)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL}
	waitKeyed(t, stack)
	items := takeCensus(t, cfg, stack.Registry)
	all := 0
	for _, p := range stack.Registry {
		all += items[p.Name][seed.Ada][0]
	}
	counter.reset()
	sub := submitVerified(t, c, outbox, map[string]any{"type": "restriction", "email": seed.Ada, "ground": dsr.GroundAccuracyContested})
	_, polls := counter.untilDone(t, c, sub, 90*time.Second)
	if s, _, b := c.do("GET", "/v1/requests/"+sub.ID+"/certificate", sub.StatusToken, nil, nil); s != 200 {
		t.Fatalf("link: %d %s", s, b)
	}
	byOp, byService := counter.without(polls)
	logCalls(t, fmt.Sprintf("one restriction request over %d purposes, %d items of ada's (%d status polls left out)", len(stack.Registry), all, polls), byOp, byService)
	checkNoScan(t, byOp)
	if got := byOp["WorkerFunction DynamoDB.UpdateItem"]; got != all {
		t.Errorf("the worker's UpdateItem calls: %d, want one per item of ada's (%d)", got, all)
	}

	counter.reset()
	body := map[string]string{"purpose": "customer_care", "reason": "Verified."}
	if s, raw := c.dpoDo("POST", "/v1/dpo/requests/"+sub.ID+"/lift", stack.DpoToken, body, nil); s != 200 {
		t.Fatalf("lift: %d %s", s, raw)
	}
	waitFor(t, "the lifting applied", 60*time.Second, func() bool {
		byOp, _ := counter.snapshot()
		return byOp["WorkerFunction DynamoDB.TransactWriteItems"] > 0
	})
	byOp, byService = counter.snapshot()
	logCalls(t, fmt.Sprintf("the lifting of customer_care (%d items)", items["customer_care"][seed.Ada][0]), byOp, byService)
	checkNoScan(t, byOp)
	if got, want := byOp["WorkerFunction DynamoDB.UpdateItem"], items["customer_care"][seed.Ada][0]; got != want {
		t.Errorf("the lifting's UpdateItem calls: %d, want one per item (%d)", got, want)
	}
	if got := byOp["DpoFunction SQS.SendMessage"]; got != 1 {
		t.Errorf("the lift route's SendMessage calls: %d, want 1 (the task)", got)
	}
}

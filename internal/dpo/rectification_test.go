package dpo_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dpo"
	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
)

// rectification stores ada's rectification of her name as dispatch leaves
// it: in progress over two purposes, waiting for the DPO.
func (e *env) rectification(t *testing.T, id string) {
	t.Helper()
	ctx := context.Background()
	must(t, e.store.Create(ctx, &dsr.Request{ID: id, Type: dsr.TypeRectification, Status: dsr.StatusAwaitingVerification, Email: "ada@example.com",
		SubjectKey: "key-ada", ReceivedAt: e.now, DueAt: e.now.AddDate(0, 1, 0), Language: dsr.LangEN,
		Rectification: &dsr.Rectification{Correction: dsr.Correction{Attribute: "name", Corrected: "Ada King"}, Decision: dsr.RectificationPending}},
		dsrtest.Step(dsr.AuditReceived)))
	must(t, e.store.Transition(ctx, id, dsr.StatusAwaitingVerification, dsr.StatusQueued, e.now, dsr.Changes{VerifiedAt: e.now}, dsrtest.StepTo(dsr.StatusQueued)))
	must(t, e.store.Transition(ctx, id, dsr.StatusQueued, dsr.StatusInProgress, e.now, dsr.Changes{PlannedPurposes: []string{"marketing", "billing"}},
		dsrtest.StepTo(dsr.StatusInProgress)))
}

func TestRectificationDecision(t *testing.T) {
	e := newEnv(t)
	tasks := &dsrtest.Queue{}
	e.h.Service.Tasks = tasks
	confirmed, refused := "01JD0000000000000000000020", "01JD0000000000000000000021"
	e.rectification(t, confirmed)
	e.rectification(t, refused)
	ctx := context.Background()
	seen := 0

	for _, tc := range []struct {
		name, id, body string
		status         int
	}{
		{"no outcome", confirmed, `{"reasons":"r"}`, 400},
		{"refused without reasons", refused, `{"outcome":"refused"}`, 400},
		{"an unknown field", confirmed, `{"outcome":"confirmed","purpose":"marketing"}`, 400},
		{"not a rectification", ids["running"], `{"outcome":"confirmed"}`, 409},
	} {
		if status, m := e.call(t, dpo.RouteRectify, tc.id, dpoClaims, nil, tc.body); status != tc.status {
			t.Errorf("%s: %d %v, want %d", tc.name, status, m, tc.status)
		}
	}
	sent := func() []dsr.TaskMessage { // the tasks of the last batch sent since the last call
		b := tasks.TaskBatches()
		defer func() { seen = len(b) }()
		if len(b) == seen {
			return nil
		}
		return b[len(b)-1]
	}
	if _, m := e.call(t, dpo.RouteDetail, confirmed, dpoClaims, nil, ""); !strings.Contains(fmtJSON(m["rectification"]), `"corrected":"Ada King"`) {
		t.Errorf("the DPO does not see what to decide: %v", m["rectification"])
	}
	if len(tasks.TaskBatches()) != 0 || len(e.mailer.Mails) != 0 {
		t.Fatal("a refused decision sent something")
	}

	if status, m := e.call(t, dpo.RouteRectify, confirmed, dpoClaims, nil, `{"outcome":"confirmed","reasons":"marriage certificate seen"}`); status != 200 {
		t.Fatalf("confirm: %d %v", status, m)
	}
	if got := sent(); len(got) != 2 || got[0].RequestID != confirmed || got[1].Purpose != "billing" {
		t.Errorf("tasks %+v", got)
	}
	if r, _ := e.store.Get(ctx, confirmed); r.Rectification.Decision != dsr.RectificationConfirmed || len(e.mailer.Mails) != 0 {
		t.Errorf("confirmed: %+v, mails %d", r.Rectification, len(e.mailer.Mails))
	}
	// The same decision again carries it out again (a lost answer); another is a conflict.
	if status, _ := e.call(t, dpo.RouteRectify, confirmed, dpoClaims, nil, `{"outcome":"confirmed"}`); status != 200 || len(sent()) != 2 {
		t.Errorf("repeated: %d", status)
	}
	if status, _ := e.call(t, dpo.RouteRectify, confirmed, dpoClaims, nil, `{"outcome":"refused","reasons":"no"}`); status != 409 {
		t.Errorf("another decision: %d", status)
	}
	if n := strings.Count(strings.Join(actions(e, confirmed), " "), string(dsr.AuditRectificationDecided)); n != 1 {
		t.Errorf("%d decision steps, want 1", n)
	}

	if status, m := e.call(t, dpo.RouteRectify, refused, dpoClaims, nil, `{"outcome":"refused","reasons":"The contract names you so."}`); status != 200 {
		t.Fatalf("refuse: %d %v", status, m)
	}
	if len(e.mailer.Mails) != 1 || !strings.Contains(e.mailer.Mails[0].Text, "The contract names you so.") ||
		!strings.Contains(e.mailer.Mails[0].Text, "Art. 18(1)(a)") || strings.Contains(e.mailer.Mails[0].Text, "Ada King") {
		t.Errorf("refusal mail %+v", e.mailer.Mails)
	}
	if got := sent(); len(got) != 2 {
		t.Errorf("a refusal's tasks (they record the parts unchanged): %+v", got)
	}
}

func actions(e *env, id string) []string {
	var out []string
	for _, a := range e.audit.Actions(id) {
		out = append(out, string(a))
	}
	return out
}

// TestRegisterRectification: a rectification received by letter is
// registered with its correction, pending the DPO's decision.
func TestRegisterRectification(t *testing.T) {
	e := newEnv(t)
	reg := slices.Clone(dsrtest.Registry(t))
	reg[0].Rectifiable = []string{"name"}
	e.h.Service.Keys, e.h.Service.Registry = testHasher(t), reg
	req := events.APIGatewayV2HTTPRequest{RouteKey: dpo.RouteRegister, Headers: map[string]string{"content-type": "application/json",
		"authorization": "Bearer " + token(t, dpoClaims)},
		Body: `{"type":"rectification","email":"ada@example.com","attribute":"name","corrected":"Ada King","receivedAt":"2027-02-05T14:00:00Z","channel":"letter","identityCheck":"signature_compared"}`}
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: gatewayClaims(dpoClaims)}}
	status, m := e.do(t, dpo.RouteRegister, req)
	if status != 202 {
		t.Fatalf("register: %d %v", status, m)
	}
	r, err := e.store.Get(context.Background(), m["id"].(string))
	want := &dsr.Rectification{Correction: dsr.Correction{Attribute: "name", Corrected: "Ada King"}, Decision: dsr.RectificationPending}
	if err != nil || r.Type != dsr.TypeRectification || !cmp.Equal(want, r.Rectification) {
		t.Errorf("stored %+v, %v", r.Rectification, err)
	}
	req.Body = strings.Replace(req.Body, `"attribute":"name"`, `"attribute":"email"`, 1)
	if status, m := e.do(t, dpo.RouteRegister, req); status != 400 {
		t.Errorf("the identifier as attribute: %d %v", status, m)
	}
}

func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

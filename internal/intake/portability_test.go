package intake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/intake"
)

// TestPortabilitySubmitAndExportLink: a portability submission stores its
// format and endpoint; loopback endpoints only where the deployment allows;
// the export is behind the report route in json or csv (the request's own
// format by default), never html, and the certificate route refuses it.
func TestPortabilitySubmitAndExportLink(t *testing.T) {
	e := newEnv(t)
	body := `{"type":"portability","email":"ada@example.com","format":"csv","transmitTo":"http://127.0.0.1:8080/in"}`
	if status, m, _ := e.call(t, intake.RouteSubmit, "", "", body, nil); status != 400 || !strings.Contains(m["errors"].([]any)[0].(map[string]any)["field"].(string), "transmitTo") {
		t.Fatalf("loopback without the deployment's leave: %d %v", status, m)
	}
	e.h.Service.Receivers = dsr.ReceiverPolicy{LoopbackHTTP: true}
	status, m, resp := e.call(t, intake.RouteSubmit, "", "", body, nil)
	if status != 202 {
		t.Fatalf("submit: %d %s", status, resp.Body)
	}
	id, token := m["id"].(string), m["statusToken"].(string)
	ctx := context.Background()
	r, _ := e.store.Get(ctx, id)
	if r.Type != dsr.TypePortability || r.Format != "csv" || r.TransmitTo != "http://127.0.0.1:8080/in" {
		t.Fatalf("stored: %s %q %q", r.Type, r.Format, r.TransmitTo)
	}
	code := codeRE.FindStringSubmatch(e.mailer.Mails[len(e.mailer.Mails)-1].Text)[1]
	e.call(t, intake.RouteVerify, id, token, `{"code":"`+code+`"}`, nil)
	if status, _, _ := e.call(t, intake.RouteReport, id, token, "", nil); status != 409 {
		t.Errorf("before completion: %d, want 409", status)
	}
	_ = e.store.Transition(ctx, id, dsr.StatusQueued, dsr.StatusInProgress, e.now, dsr.Changes{PlannedPurposes: []string{"marketing"}}, dsrtest.StepTo(dsr.StatusInProgress))
	res := &dsr.Result{ExportJSONKey: "reports/" + id + "/export.json", ExportZipKey: "reports/" + id + "/export.zip",
		Transmission: &dsr.Transmission{Status: dsr.TransmissionDelivered, At: e.now, HTTPStatus: 204, Attempts: 1}}
	_ = e.store.Transition(ctx, id, dsr.StatusInProgress, dsr.StatusCompleted, e.now, dsr.Changes{CompletedAt: e.now, Result: res}, dsrtest.StepTo(dsr.StatusCompleted))
	e.links.objects[id+"/export.json"], e.links.objects[id+"/export.zip"] = true, true
	for _, tc := range []struct {
		format, want string
		status       int
	}{{"", "export.zip", 200}, {"json", "export.json", 200}, {"csv", "export.zip", 200}, {"html", "", 400}, {"pdf", "", 400}} {
		q := map[string]string{"format": tc.format}
		if tc.format == "" {
			q = nil
		}
		status, m, _ := e.call(t, intake.RouteReport, id, token, "", q)
		if status != tc.status || tc.want != "" && !strings.Contains(m["url"].(string), tc.want) {
			t.Errorf("format %q: %d %v", tc.format, status, m)
		}
	}
	if status, _, _ := e.call(t, intake.RouteCertificate, id, token, "", nil); status != 409 {
		t.Errorf("certificate: %d, want 409", status)
	}
	_, m, _ = e.call(t, intake.RouteStatus, id, token, "", nil)
	result := m["result"].(map[string]any)
	tr, _ := result["transmission"].(map[string]any)
	if result["report"] != "/v1/requests/"+id+"/report?format=csv" || tr["status"] != "delivered" || tr["httpStatus"] != float64(204) {
		t.Errorf("completed view: %v", m)
	}
}

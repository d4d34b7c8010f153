package httpapi_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/httpapi"
)

func TestLinked(t *testing.T) {
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	access := &dsr.Request{ID: "01J", Type: dsr.TypeAccess, Status: dsr.StatusCompleted, ReceivedAt: at, CompletedAt: at}
	v := access.View()
	if got := httpapi.Linked(v).Result; !cmp.Equal(&dsr.ViewResult{Answer: dsr.DocReportJSON, Report: "/v1/requests/01J/report"}, got) {
		t.Errorf("access: %+v", got)
	}
	if v.Result.Report != "" {
		t.Error("Linked changed the view it was given")
	}
	recipients := []dsr.Recipient{{Recipient: "R", Country: "FR", At: at}}
	erasure := &dsr.Request{ID: "01K", Type: dsr.TypeErasure, Status: dsr.StatusCompleted, ReceivedAt: at, CompletedAt: at,
		Result: &dsr.Result{CertificateKey: "c.json", Recipients: recipients}}
	want := &dsr.ViewResult{Answer: dsr.DocCertificate, Certificate: "/v1/requests/01K/certificate", Recipients: recipients}
	if got := httpapi.Linked(erasure.View()).Result; !cmp.Equal(want, got) {
		t.Errorf("erasure: %+v", got)
	}
	erasure.Status = dsr.StatusInProgress
	if got := httpapi.Linked(erasure.View()); got.Result != nil {
		t.Errorf("in progress: %+v", got.Result)
	}
	if httpapi.ReportPath("01J") != "/v1/requests/01J/report" || httpapi.CertificatePath("01J") != "/v1/requests/01J/certificate" {
		t.Errorf("paths %q, %q", httpapi.ReportPath("01J"), httpapi.CertificatePath("01J"))
	}
}

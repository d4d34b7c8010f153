package httpapi_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/httpapi"
)

// TestLinkedExport: a completed portability request links to the report
// route in its format, with the outcome of its transmission.
func TestLinkedExport(t *testing.T) {
	at := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	tr := &dsr.Transmission{Status: dsr.TransmissionFailed, At: at, HTTPStatus: 503, Attempts: 3}
	for format, want := range map[string]*dsr.ViewResult{
		"json": {Answer: dsr.DocExportJSON, Report: "/v1/requests/01J/report?format=json", Transmission: tr},
		"csv":  {Answer: dsr.DocExportZip, Report: "/v1/requests/01J/report?format=csv", Transmission: tr},
		"":     {Answer: dsr.DocExportJSON, Report: "/v1/requests/01J/report?format=json", Transmission: tr},
	} {
		r := &dsr.Request{ID: "01J", Type: dsr.TypePortability, Format: format, Status: dsr.StatusCompleted, ReceivedAt: at, CompletedAt: at,
			Result: &dsr.Result{ExportJSONKey: "e.json", ExportZipKey: "e.zip", Transmission: tr}}
		if got := httpapi.Linked(r.View()).Result; !cmp.Equal(want, got) {
			t.Errorf("format %q: %s", format, cmp.Diff(want, got))
		}
	}
}

package storetest

import (
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// portabilityKeepsItsEndpointAndTransmission: a portability request reads
// back with its format and receiving endpoint, and once completed with its
// export's documents and the outcome of the transmission, at the time
// recorded (to the nanosecond the encoder keeps), and without the endpoint,
// which the completion removes with the address.
func portabilityKeepsItsEndpointAndTransmission(t *testing.T, s Store, _ Options) {
	t.Parallel()
	ctx, now := t.Context(), requestsNow
	r := newRequest()
	r.Type, r.Format, r.TransmitTo = dsr.TypePortability, dsr.FormatCSV, "https://receiver.example/inbox?x=1"
	must(t, s.Create(ctx, r, aStep))
	wantDiff(t, "get after create", r, mustGet(t, s, r.ID), ignoreTrail)
	must(t, s.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, dsr.Changes{}, aStep))
	must(t, s.Transition(ctx, r.ID, dsr.StatusQueued, dsr.StatusInProgress, now, dsr.Changes{PlannedPurposes: []string{"marketing"}}, aStep))
	at := now.Add(1500 * time.Millisecond).Add(7)
	complete := dsr.Changes{CompletedAt: now, Result: &dsr.Result{
		ExportJSONKey: "reports/" + r.ID + "/export.json", ExportZipKey: "reports/" + r.ID + "/export.zip",
		Transmission: &dsr.Transmission{Status: dsr.TransmissionFailed, At: at, HTTPStatus: 503, Attempts: 3},
	}}
	must(t, s.Transition(ctx, r.ID, dsr.StatusInProgress, dsr.StatusCompleted, now, complete, aStep))
	done := mustGet(t, s, r.ID)
	wantDiff(t, "result", complete.Result, done.Result)
	// The endpoint goes with the address (dsr.AddressNeeded): the export is sent before.
	wantDiff(t, "format and endpoint", []string{dsr.FormatCSV, ""}, []string{done.Format, done.TransmitTo})
}

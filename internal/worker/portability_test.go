package worker_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/worker"
)

// transmitter is a fake receiving controller: it records each delivery and
// answers with outcome (or err).
type transmitter struct {
	mu         sync.Mutex
	deliveries []string // endpoint + " " + delivery id
	bodies     [][]byte
	outcome    dsr.Transmission
	err        error
}

func (f *transmitter) Send(_ context.Context, endpoint, delivery string, body []byte) (dsr.Transmission, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deliveries = append(f.deliveries, endpoint+" "+delivery)
	f.bodies = append(f.bodies, body)
	return f.outcome, f.err
}

// TestPortabilityExport: the parts of the portable purpose (marketing, of
// the test registry) make an export of what ada provided, as JSON and as
// zipped CSV; billing is not planned; the request completes once.
func TestPortabilityExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypePortability, Format: dsr.FormatCSV})
	e.contacts.Add(e.marketing, ada, 2)
	e.contacts.Add(e.billing, ada, 1)
	e.runAll(t)
	ctx := context.Background()
	r, _ := e.store.Get(ctx, e.id)
	if r.Status != dsr.StatusCompleted || !cmp.Equal(r.PlannedPurposes, []string{"marketing"}) {
		t.Fatalf("request: %s, plan %v", r.Status, r.PlannedPurposes)
	}
	want := &dsr.Result{ExportJSONKey: "reports/" + e.id + "/export.json", ExportZipKey: "reports/" + e.id + "/export.zip"}
	if diff := cmp.Diff(want, r.Result); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	raw, _ := e.objects.Document(e.id, dsr.DocExportJSON)
	var exp dsr.Export
	must(t, json.Unmarshal(raw, &exp))
	wantRecords := []map[string]any{{"email": ada.Email}, {"email": ada.Email}}
	if len(exp.Purposes) != 1 || exp.Purposes[0].Purpose != "marketing" || !cmp.Equal(exp.Purposes[0].Records, wantRecords) {
		t.Errorf("export: %+v", exp.Purposes)
	}
	zipped, _ := e.objects.Document(e.id, dsr.DocExportZip)
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	must(t, err)
	if len(zr.File) != 1 || zr.File[0].Name != "marketing.csv" {
		t.Fatalf("zip entries: %v", zr.File)
	}
	f, _ := zr.File[0].Open()
	csv, _ := io.ReadAll(f)
	if got, want := string(csv), "email\nada@example.com\nada@example.com\n"; got != want {
		t.Errorf("marketing.csv = %q, want %q", got, want)
	}
	if v := r.View(); v.Result == nil || v.Result.Answer != dsr.DocExportZip || v.Result.Transmission != nil {
		t.Errorf("view: %+v", v.Result)
	}
	if got := e.steps(e.id); !cmp.Equal(got, []dsr.AuditAction{dsr.AuditPurposeDone, dsr.AuditPersonNotified, dsr.AuditCompleted}) {
		t.Errorf("trail: %v", got)
	}
}

// TestPortabilityTransmission: the JSON export goes to the endpoint ada
// named with the request id as delivery id; the outcome, delivered or
// failed, is on the result and in the trail once, and a failed one keeps
// the export. A transmission cut short fails the task, and the redelivery
// sends the same delivery again.
func TestPortabilityTransmission(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 29, 10, 0, 1, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		outcome dsr.Transmission
	}{
		{"delivered", dsr.Transmission{Status: dsr.TransmissionDelivered, At: at, HTTPStatus: 202, Attempts: 1}},
		{"failed", dsr.Transmission{Status: dsr.TransmissionFailed, At: at, HTTPStatus: 503, Attempts: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, dsr.Request{Type: dsr.TypePortability, Format: dsr.FormatJSON, TransmitTo: "https://receiver.example/inbox"})
			e.contacts.Add(e.marketing, ada, 1)
			tr := &transmitter{err: errors.New("connection reset")}
			e.h.Transmitter = tr
			ctx := context.Background()
			if failed := e.deliverTask(t, ctx, "marketing"); len(failed) != 1 {
				t.Fatalf("a transmission cut short did not fail the task: %v", failed)
			}
			tr.err, tr.outcome = nil, tc.outcome
			if failed := e.deliverTask(t, ctx, "marketing"); len(failed) != 0 {
				t.Fatalf("redelivery failed: %v", failed)
			}
			want := []string{"https://receiver.example/inbox " + e.id, "https://receiver.example/inbox " + e.id}
			if !cmp.Equal(tr.deliveries, want) || !bytes.Equal(tr.bodies[0], tr.bodies[1]) {
				t.Errorf("deliveries %v (same body: %v)", tr.deliveries, bytes.Equal(tr.bodies[0], tr.bodies[1]))
			}
			if stored, _ := e.objects.Document(e.id, dsr.DocExportJSON); !bytes.Equal(stored, tr.bodies[1]) {
				t.Error("the transmitted body is not the stored export")
			}
			r, _ := e.store.Get(ctx, e.id)
			if r.Status != dsr.StatusCompleted || r.Result.Transmission == nil || *r.Result.Transmission != tc.outcome {
				t.Fatalf("request %s, transmission %+v", r.Status, r.Result.Transmission)
			}
			if v := r.View(); v.Result.Transmission == nil || *v.Result.Transmission != tc.outcome {
				t.Errorf("view: %+v", v.Result)
			}
			n := 0
			for _, s := range e.steps(e.id) {
				if s == dsr.AuditTransmitted {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d transmission steps, want 1: %v", n, e.steps(e.id))
			}
			e.deliverTask(t, ctx, "marketing") // after completion: nothing more
			if len(tr.deliveries) != 2 {
				t.Errorf("transmitted again after completion: %d", len(tr.deliveries))
			}
		})
	}
}

// TestErasureDeletesExportsAndSupersedesPortability: an erasure deletes
// ada's earlier portability export, a copy of the erased data, and answers
// her portability request still under way with the statement of the
// erasure, so that it cannot export or transmit the erased data after.
func TestErasureDeletesExportsAndSupersedesPortability(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypeErasure})
	e.contacts.Add(e.marketing, ada, 2)
	ctx := context.Background()
	done, running := "01JDPORTDONE", "01JDPORTRUNNING"
	jsonKey, err := e.objects.PutDocument(ctx, done, dsr.DocExportJSON, []byte("{}"))
	must(t, err)
	zipKey, err := e.objects.PutDocument(ctx, done, dsr.DocExportZip, []byte("PK"))
	must(t, err)
	for _, id := range []string{done, running} {
		must(t, e.store.Create(ctx, &dsr.Request{ID: id, Type: dsr.TypePortability, Status: dsr.StatusAwaitingVerification, SubjectKey: ada.Key, Email: ada.Email}, dsrtest.Step(dsr.AuditReceived)))
		must(t, e.store.Transition(ctx, id, dsr.StatusAwaitingVerification, dsr.StatusQueued, e.now, dsr.Changes{}, dsrtest.StepTo(dsr.StatusQueued)))
		must(t, e.store.Transition(ctx, id, dsr.StatusQueued, dsr.StatusInProgress, e.now, dsr.Changes{PlannedPurposes: []string{"marketing"}}, dsrtest.StepTo(dsr.StatusInProgress)))
	}
	must(t, e.store.Transition(ctx, done, dsr.StatusInProgress, dsr.StatusCompleted, e.now, dsr.Changes{CompletedAt: e.now, Result: &dsr.Result{ExportJSONKey: jsonKey, ExportZipKey: zipKey}}, dsrtest.StepTo(dsr.StatusCompleted)))

	e.runAll(t)

	for _, doc := range []dsr.Document{dsr.DocExportJSON, dsr.DocExportZip} {
		if _, ok := e.objects.Document(done, doc); ok {
			t.Errorf("the earlier export's %s is left after the erasure", doc)
		}
	}
	r, _ := e.store.Get(ctx, running)
	if r.Status != dsr.StatusCompleted || !r.Superseded() || r.View().Result.Answer != dsr.DocCertificate {
		t.Fatalf("portability under way: %s %+v", r.Status, r.Result)
	}
	raw, _ := e.objects.Document(running, dsr.DocCertificate)
	var a dsr.SupersededAnswer
	must(t, json.Unmarshal(raw, &a))
	if a.Type != dsr.TypePortability || !strings.Contains(a.Answer, "nothing left to export") {
		t.Errorf("answer: %s", raw)
	}
}

// TestTransmissionNearTheDeadlineContinues: an export whose invocation has
// less time left than a transmission may take is transmitted in a new
// message, which finds the documents written and transmits once.
func TestTransmissionNearTheDeadlineContinues(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dsr.Request{Type: dsr.TypePortability, Format: dsr.FormatJSON, TransmitTo: "https://receiver.example/inbox"})
	e.contacts.Add(e.marketing, ada, 1)
	tr := &transmitter{outcome: dsr.Transmission{Status: dsr.TransmissionDelivered, HTTPStatus: 200, Attempts: 1, At: e.now}}
	e.h.Transmitter = tr
	short, cancel := context.WithTimeout(context.Background(), e.h.Reserve+worker.TransmitBudget-time.Second)
	defer cancel()
	if failed := e.deliverTask(t, short, "marketing"); len(failed) != 0 {
		t.Fatalf("failed: %v", failed)
	}
	r, _ := e.store.Get(context.Background(), e.id)
	if len(tr.deliveries) != 0 || r.Status != dsr.StatusInProgress || len(e.queue.Tasks()) != 1 {
		t.Fatalf("near the deadline: %d deliveries, %s, tasks %v", len(tr.deliveries), r.Status, e.queue.Tasks())
	}
	if failed := e.deliverTask(t, context.Background(), e.queue.Tasks()[0].Purpose); len(failed) != 0 {
		t.Fatalf("continuation failed: %v", failed)
	}
	r, _ = e.store.Get(context.Background(), e.id)
	if len(tr.deliveries) != 1 || r.Status != dsr.StatusCompleted || e.objects.Writes(e.id, dsr.DocExportJSON) != 1 {
		t.Errorf("after the continuation: %d deliveries, %s, export written %d times", len(tr.deliveries), r.Status, e.objects.Writes(e.id, dsr.DocExportJSON))
	}
}

package memstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/intake"
	"github.com/privacyops/dsr/internal/memstore"
	"github.com/privacyops/dsr/internal/retention"
	"github.com/privacyops/dsr/internal/storetest"
	"github.com/privacyops/dsr/internal/worker"
)

// The interfaces the bucket fake stands in for.
var (
	_ worker.Objects    = (*memstore.Objects)(nil)
	_ intake.Links      = (*memstore.Objects)(nil)
	_ retention.Objects = (*memstore.Objects)(nil)
)

func TestObjectsContract(t *testing.T) {
	storetest.RunObjects(t, func(*testing.T) storetest.ObjectStore { return &memstore.Objects{} })
}

func TestObjectVersionsContract(t *testing.T) {
	storetest.RunObjectVersions(t, func(*testing.T) storetest.ObjectStore { return &memstore.Objects{Versioned: true} })
}

// TestObjectsRacingWriters: of writers racing to write one document or
// chunk, one writes it and every other gets the first's.
func TestObjectsRacingWriters(t *testing.T) {
	ctx, o := context.Background(), &memstore.Objects{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for i := range 10 {
		wg.Go(func() {
			if _, err := o.PutDocument(ctx, "01A", dsr.DocCertificate, fmt.Appendf(nil, `{"writer":%d}`, i)); err != nil {
				t.Error(err)
			}
			_, ok, err := o.PutChunkOnce(ctx, dsr.Chunk{RequestID: "01A", Purpose: "billing", Keys: []string{fmt.Sprint(i)}})
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				created++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n := o.Writes("01A", dsr.DocCertificate); n != 1 || created != 1 {
		t.Errorf("document written %d times, chunk created %d times; want once each", n, created)
	}
	if _, ok := o.Document("01A", dsr.DocCertificate); !ok {
		t.Error("no document")
	}
}

// TestObjectsSeeded: objects put as if written earlier are deleted by
// retention like any other, and listed by key.
func TestObjectsSeeded(t *testing.T) {
	now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	o := &memstore.Objects{Clock: func() time.Time { return now }}
	o.Put("reports/01OLD/report.json", []byte("{}"), now.AddDate(0, 0, -31))
	if _, err := o.PutDocument(context.Background(), "01NEW", dsr.DocReportJSON, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if n, err := o.DeleteOlderThan(context.Background(), now.AddDate(0, 0, -30)); err != nil || n != 1 {
		t.Errorf("deleted %d (%v), want the old report", n, err)
	}
	if diff := cmp.Diff([]string{"reports/01NEW/report.json"}, o.Keys()); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}

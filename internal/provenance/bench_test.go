package provenance_test

import (
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
	"github.com/privacyops/dsr/internal/dynamo"
	"github.com/privacyops/dsr/internal/jsonbody"
)

// BenchmarkProvenanceEvent measures what the provenance function does with
// one message before storing it: parsing and validating the event and
// deriving its entry (id, expiry) and the expiry index partition it is
// stored in.
func BenchmarkProvenanceEvent(b *testing.B) {
	reg := dsrtest.Registry(b)
	now, pol := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), dsrtest.Policy(b)
	body := []byte(`{"email":"Ada@Example.com","purpose":"marketing","event":"disclosed","recipient":"Example Print GmbH","country":"DE","safeguard":"","at":"2026-04-01T08:30:00Z"}`)
	b.ReportAllocs()
	for b.Loop() {
		ev, err := jsonbody.ParseProvenanceEvent(body, reg, now, pol)
		if err != nil {
			b.Fatal(err)
		}
		_ = dynamo.EntryBucket(dsr.NewProvenanceEntry(ev, "0123456789abcdef", dsr.DefaultProvenanceYears))
	}
}

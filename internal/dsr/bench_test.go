package dsr_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// BenchmarkReportAssembly measures what the last worker does with the parts
// once they are read: assembling the report, marshalling its JSON and
// rendering its HTML page, for a subject with records records in each of two
// purposes.
func BenchmarkReportAssembly(b *testing.B) {
	reg := demoRegistry(b)
	for _, records := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("records=%d", 2*records), func(b *testing.B) {
			req := &dsr.Request{ID: "R1", Email: "ada@example.com"}
			var parts []dsr.Chunk
			for _, p := range reg {
				var rs []dsr.Record
				for i := range records {
					rs = append(rs, dsr.Record{Table: p.Table, Item: map[string]any{
						"contactId": fmt.Sprintf("%s-%06d", p.Name, i), p.Identifier: "ada@example.com",
						"name": "Ada Lovelace", "note": "Asked about delivery times.", "amountCents": 4990.0,
					}})
				}
				parts = append(parts, dsr.Chunk{RequestID: "R1", Purpose: p.Name, Records: rs})
			}
			at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			var size int
			for b.Loop() {
				rep, err := dsr.AssembleReport(req, reg, dsr.Controller{Name: "Shop", Contact: "privacy@shop.example"}, parts, nil, at, dsr.LangDE)
				if err != nil {
					b.Fatal(err)
				}
				js, err := json.Marshal(rep)
				if err != nil {
					b.Fatal(err)
				}
				page, err := dsr.RenderHTML(rep)
				if err != nil {
					b.Fatal(err)
				}
				size = len(js) + len(page)
			}
			b.ReportMetric(float64(size), "report-bytes")
		})
	}
}

// BenchmarkCertificateAssembly measures what the last worker of an erasure
// does with the parts once they are read: counting each purpose's distinct
// keys across its chunks and marshalling the certificate, for keys items in
// each purpose, in chunks of 2,000 keys (about one 1 MB query page).
func BenchmarkCertificateAssembly(b *testing.B) {
	reg := demoRegistry(b)
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, keys := range []int{10, 10000, 100000} {
		b.Run(fmt.Sprintf("keys=%d", 2*keys), func(b *testing.B) {
			req := &dsr.Request{ID: "R1", Type: dsr.TypeErasure, VerifiedAt: at, PlannedPurposes: reg.Names(), UpdatedAt: at}
			var parts []dsr.Chunk
			for _, p := range reg {
				chunk := dsr.Chunk{RequestID: "R1", Purpose: p.Name, At: at}
				for i := range keys {
					chunk.Keys = append(chunk.Keys, fmt.Sprintf("eyJjb250YWN0SWQiOnsiUyI6ImMtJTA2ZCJ9fQ-%s-%07d", p.Name, i))
					if len(chunk.Keys) == 2000 || i == keys-1 {
						parts = append(parts, chunk)
						chunk = dsr.Chunk{RequestID: "R1", Purpose: p.Name, Index: chunk.Index + 1, At: at}
					}
				}
				parts = append(parts, dsr.Chunk{RequestID: "R1", Purpose: p.Name, Index: chunk.Index, At: at, ReadBack: &dsr.ReadBack{At: at}})
			}
			b.ReportAllocs()
			for b.Loop() {
				c, err := dsr.AssembleCertificate(req, reg, parts, dsr.CertificateInput{IssuedAt: at})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := json.Marshal(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

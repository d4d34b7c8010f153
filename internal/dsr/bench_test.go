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
			var parts []dsr.Part
			for _, p := range reg {
				var rs []dsr.Record
				for i := range records {
					rs = append(rs, dsr.Record{Table: p.Table, Item: map[string]any{
						"contactId": fmt.Sprintf("%s-%06d", p.Name, i), p.Identifier: "ada@example.com",
						"name": "Ada Lovelace", "note": "Asked about delivery times.", "amountCents": 4990.0,
					}})
				}
				parts = append(parts, dsr.Part{RequestID: "R1", Purpose: p.Name, Records: rs})
			}
			at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			var size int
			for b.Loop() {
				rep, err := dsr.AssembleReport(req, reg, dsr.Controller{Name: "Shop", Contact: "privacy@shop.example"}, parts, at)
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

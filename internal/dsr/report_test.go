package dsr_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

func TestAssembleReport(t *testing.T) {
	reg := demoRegistry(t)
	req := &dsr.Request{ID: "R1", Email: "ada@example.com"}
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	parts := []dsr.Chunk{
		{RequestID: "R1", Purpose: "billing", Index: 1, Records: []dsr.Record{{Table: "T-billing", Item: map[string]any{"n": 2}}}},
		{RequestID: "R1", Purpose: "billing", Index: 0, Records: []dsr.Record{{Table: "T-billing", Item: map[string]any{"n": 1}}}},
	}
	prov := map[string]dsr.Provenance{"billing": {
		Sources:    []dsr.Source{{Source: "online shop checkout", At: at.AddDate(0, -2, 0)}},
		Recipients: []dsr.Recipient{{Recipient: "Tax Advisers LLP", Country: "GB", Safeguard: "adequacy decision", At: at.AddDate(0, -1, 0)}},
	}}
	rep, err := dsr.AssembleReport(req, reg, dsr.Controller{Name: "C", Contact: "c@example.com"}, parts, prov, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Purposes) != 2 || rep.Purposes[0].Purpose != "marketing" || rep.Purposes[0].Records == nil || len(rep.Purposes[0].Records) != 0 {
		t.Fatalf("every purpose must appear, records: [] where none: %+v", rep.Purposes)
	}
	if p := rep.Purposes[0]; p.Sources == nil || p.Recipients == nil || len(p.Sources)+len(p.Recipients) != 0 {
		t.Errorf("sources and recipients must be [] where none: %+v", p)
	}
	if p := rep.Purposes[1]; len(p.Sources) != 1 || len(p.Recipients) != 1 || p.Recipients[0].Country != "GB" {
		t.Errorf("billing's provenance missing: %+v", p)
	}
	if got := rep.Purposes[1].Records; len(got) != 2 || got[0].Item["n"] != 1 || got[1].Item["n"] != 2 {
		t.Errorf("chunks out of order: %+v", got)
	}
	if _, err := dsr.AssembleReport(req, reg, dsr.Controller{}, []dsr.Chunk{{RequestID: "R1", Purpose: "astrology"}}, nil, at); err == nil {
		t.Error("part of an unknown purpose accepted")
	}
	if _, err := dsr.AssembleReport(req, reg, dsr.Controller{}, []dsr.Chunk{{RequestID: "R2", Purpose: "billing"}}, nil, at); err == nil {
		t.Error("part of another request accepted")
	}
	page, err := dsr.RenderHTML(rep)
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	for _, want := range []string{"<!DOCTYPE html>", "Purpose: marketing", "We hold no records about you for this purpose.", "Records (2)", "complaint to a supervisory authority",
		"online shop checkout", "Tax Advisers LLP", "adequacy decision", "No disclosure is recorded."} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "src=", "<link", "http://", "https://"} {
		if strings.Contains(html, banned) {
			t.Errorf("HTML is not self-contained: has %q", banned)
		}
	}
}

func TestRenderHTMLEscapes(t *testing.T) {
	rep := &dsr.Report{RequestID: "R", Subject: dsr.ReportSubject{Email: "a@b.co"}, Purposes: []dsr.PurposeReport{{
		Purpose: "p", Records: []dsr.Record{{Table: "t", Item: map[string]any{"note": "<script>alert(1)</script>",
			"epoch": json.Number("1700000000"), "tags": []any{"a", "b"}}}},
	}}}
	page, err := dsr.RenderHTML(rep)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), "<script>") {
		t.Error("stored data is not escaped")
	}
	for _, want := range []string{"<td>1700000000</td>", "<td>[&#34;a&#34;,&#34;b&#34;]</td>"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

package dsr_test

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
)

var testController = dsr.Controller{Name: "C GmbH", Contact: "c@example.com", DPO: "dpo@example.com",
	SupervisoryAuthority: dsr.Authority{Name: "Berliner Beauftragte für Datenschutz und Informationsfreiheit", URL: "https://www.datenschutz-berlin.de"}}

// reportOf is the demo registry's report of request R1 in language l (""
// for a request without one), with two billing records and a marketing one.
func reportOf(t *testing.T, l dsr.Language) *dsr.Report {
	t.Helper()
	req := &dsr.Request{ID: "R1", Email: "ada@example.com", Language: l}
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	parts := []dsr.Chunk{
		{RequestID: "R1", Purpose: "billing", Index: 1, Records: []dsr.Record{{Table: "T-billing", Item: map[string]any{"n": 2, "customerEmail": "ada@example.com"}}}},
		{RequestID: "R1", Purpose: "billing", Index: 0, Records: []dsr.Record{{Table: "T-billing", Item: map[string]any{"n": 1, "invoiceNumber": "INV-1"}}}},
		{RequestID: "R1", Purpose: "marketing", Records: []dsr.Record{{Table: "T-marketing", Item: map[string]any{"email": "ada@example.com", "segment": "loyal-customers"}}}},
	}
	prov := map[string]dsr.Provenance{"billing": {
		Sources:    []dsr.Source{{Source: "online shop checkout", At: at.AddDate(0, -2, 0)}},
		Recipients: []dsr.Recipient{{Recipient: "Tax Advisers LLP", Country: "GB", Safeguard: "adequacy decision", At: at.AddDate(0, -1, 0)}},
	}}
	rep, err := dsr.AssembleReport(req, demoRegistry(t), testController, parts, prov, at, dsr.LangDE)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestAssembleReport(t *testing.T) {
	rep := reportOf(t, dsr.LangEN)
	if len(rep.Purposes) != 2 || rep.Purposes[0].Purpose != "marketing" || rep.Purposes[1].Records == nil {
		t.Fatalf("every purpose must appear, in registry order: %+v", rep.Purposes)
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
	if got := rep.Purposes[1].Records[0].Labels; got["invoiceNumber"] != "invoice number" || got["n"] != "Further stored data 1" {
		t.Errorf("labels: %v", got)
	}
	m := rep.Purposes[0]
	if !m.Automated.Exists || !strings.Contains(m.Automated.Description, "segment") || m.LegalBasisCode != dsr.BasisConsent {
		t.Errorf("marketing: %+v", m)
	}
	if b := rep.Purposes[1]; b.Automated.Exists || !strings.Contains(b.Automated.Description, "no automated decision-making") || len(b.Categories) == 0 {
		t.Errorf("billing: %+v", b)
	}
	if diff := cmp.Diff(testController, rep.Controller); diff != "" {
		t.Error(diff)
	}
	req := &dsr.Request{ID: "R1", Email: "ada@example.com"}
	if _, err := dsr.AssembleReport(req, demoRegistry(t), testController, []dsr.Chunk{{RequestID: "R1", Purpose: "astrology"}}, nil, time.Now(), dsr.LangEN); err == nil {
		t.Error("part of an unknown purpose accepted")
	}
	if _, err := dsr.AssembleReport(req, demoRegistry(t), testController, []dsr.Chunk{{RequestID: "R2", Purpose: "billing"}}, nil, time.Now(), dsr.LangEN); err == nil {
		t.Error("part of another request accepted")
	}
}

// TestReportLanguages: a report is in its request's language (the fallback
// for a request without one), with the same JSON keys in German and English.
func TestReportLanguages(t *testing.T) {
	de, en := reportOf(t, dsr.LangDE), reportOf(t, dsr.LangEN)
	if got := reportOf(t, "").Language; got != dsr.LangDE {
		t.Errorf("a request without a language: %q, want the fallback de", got)
	}
	noLanguage := &dsr.Request{ID: "R1", Email: "ada@example.com"}
	if rep, err := dsr.AssembleReport(noLanguage, demoRegistry(t), testController, nil, nil, time.Now(), ""); err != nil || rep.Language != dsr.LangEN ||
		rep.Purposes[1].Automated.Description == "" {
		t.Errorf("neither the request nor the fallback has a language: %v %+v, want English", err, rep)
	}
	if de.Language != dsr.LangDE || en.Language != dsr.LangEN {
		t.Fatalf("languages %q %q", de.Language, en.Language)
	}
	if diff := cmp.Diff(jsonKeys(t, en), jsonKeys(t, de)); diff != "" {
		t.Errorf("the JSON keys differ between the languages (-en +de):\n%s", diff)
	}
	for _, tc := range []struct {
		rep  *dsr.Report
		want []string
	}{
		{de, []string{"Werbung", "Kontaktdaten", "Einwilligung (Art. 6 Abs. 1 lit. a DSGVO)", "Ein Segment wählt die Werbung", "Widerruf der Einwilligung", "Datensätze, die mit der Adresse ada@example.com"}},
		{en, []string{"Advertising", "contact data", "consent (Art. 6(1)(a) GDPR)", "A segment chooses the ads", "withdrawal of consent", "records linked to the address ada@example.com"}},
	} {
		js, err := json.Marshal(tc.rep)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(js), w) {
				t.Errorf("%s report lacks %q", tc.rep.Language, w)
			}
		}
	}
}

// jsonKeys are the paths of every key of rep's JSON (list elements as []).
func jsonKeys(t *testing.T, rep *dsr.Report) []string {
	t.Helper()
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	var walk func(string, any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if strings.HasSuffix(path, ".item") || strings.HasSuffix(path, ".labels") {
					k = "*" // the stored attributes: data, not the report's keys
				}
				set[path+"."+k] = true
				walk(path+"."+k, x)
			}
		case []any:
			for _, x := range v {
				walk(path+"[]", x)
			}
		}
	}
	walk("", v)
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestRenderHTML(t *testing.T) {
	for _, tc := range []struct {
		lang dsr.Language
		want []string
	}{
		{dsr.LangDE, []string{`<html lang="de">`, "Zweck: Werbung", "Für diesen Zweck haben wir keine Daten", "Datensätze (2)",
			"29. November 2026, 12:00 Uhr (UTC)", "Datenschutzbeauftragte(r)</dt><dd>dpo@example.com", "Berliner Beauftragte für Datenschutz",
			"https://www.datenschutz-berlin.de", "Kategorien von Daten", "Ein Segment wählt die Werbung", "Rechnungsnummer", "Weitere gespeicherte Angabe 1",
			"Widerruf der Einwilligung", "Beschwerde bei einer Aufsichtsbehörde", "Keine Weitergabe verzeichnet."}},
		{dsr.LangEN, []string{`<html lang="en">`, "Purpose: Advertising", "Records (2)", "29 November 2026, 12:00 UTC",
			"Data protection officer</dt><dd>dpo@example.com", "Competent supervisory authority", "Categories of data", "A segment chooses the ads",
			"invoice number", "complaint to a supervisory authority", "online shop checkout", "Tax Advisers LLP", "adequacy decision"}},
	} {
		rep := reportOf(t, tc.lang)
		rep.Purposes[0].Records = nil // marketing without records
		page, err := dsr.RenderHTML(rep)
		if err != nil {
			t.Fatal(err)
		}
		html := string(page)
		for _, want := range tc.want {
			if !strings.Contains(html, want) {
				t.Errorf("%s: HTML lacks %q", tc.lang, want)
			}
		}
		// The person reads labels: never a table's or an attribute's name.
		for _, banned := range []string{"<script", "src=", "<link", "http://", "T-billing", ">invoiceNumber<", ">customerEmail<", "billing"} {
			if strings.Contains(html, banned) {
				t.Errorf("%s: HTML has %q", tc.lang, banned)
			}
		}
	}
}

func TestRenderHTMLEscapes(t *testing.T) {
	rep := &dsr.Report{RequestID: "R", Language: dsr.LangEN, Subject: dsr.ReportSubject{Email: "a@b.co"}, Purposes: []dsr.PurposeReport{{
		Purpose: "p", Records: []dsr.ReportedRecord{{Item: map[string]any{"note": "<script>alert(1)</script>",
			"epoch": json.Number("1700000000"), "tags": []any{"a", "b"}}, Labels: map[string]string{"note": "<b>n</b>"}}},
	}}}
	page, err := dsr.RenderHTML(rep)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), "<script>") || strings.Contains(string(page), "<b>n</b>") {
		t.Error("stored data is not escaped")
	}
	for _, want := range []string{"<td>1700000000</td>", "<td>[&#34;a&#34;,&#34;b&#34;]</td>"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestControllerCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*dsr.Controller)
		want string // "" for valid
	}{
		{"complete", func(*dsr.Controller) {}, ""},
		{"no DPO", func(c *dsr.Controller) { c.DPO = " " }, "DPO contact missing"},
		{"no authority", func(c *dsr.Controller) { c.SupervisoryAuthority.Name = "" }, "supervisory authority name missing"},
		{"no name", func(c *dsr.Controller) { c.Name = "" }, "name missing"},
		{"http", func(c *dsr.Controller) { c.SupervisoryAuthority.URL = "http://www.datenschutz-berlin.de" }, "https URL"},
		{"no host", func(c *dsr.Controller) { c.SupervisoryAuthority.URL = "https://" }, "https URL"},
		{"not a URL", func(c *dsr.Controller) { c.SupervisoryAuthority.URL = "datenschutz-berlin.de" }, "https URL"},
	} {
		c := testController
		tc.edit(&c)
		err := c.Check()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestRecipientsTransferBasis: the HTML names each recipient's transfer
// basis and safeguard in the report's language, not as codes; every
// safeguard has its German words.
func TestRecipientsTransferBasis(t *testing.T) {
	for _, tc := range []struct {
		lang dsr.Language
		want []string
	}{
		{dsr.LangDE, []string{"Grundlage der Übermittlung", "geeignete Garantien (Art. 46, 47 DSGVO)", "Standarddatenschutzklauseln", "im EWR: keine Übermittlung", "nicht verzeichnet"}},
		{dsr.LangEN, []string{"Transfer basis", "appropriate safeguards (Art. 46, 47 GDPR)", "standard data protection clauses adopted by the Commission", "inside the EEA", "not recorded"}},
	} {
		rep := reportOf(t, tc.lang)
		rep.Purposes[1].Recipients = []dsr.Recipient{
			{Recipient: "Mailer Inc.", Country: "US", Safeguard: "scc", TransferBasis: dsr.TransferSafeguard, At: rep.GeneratedAt},
			{Recipient: "Example Print GmbH", Country: "DE", TransferBasis: dsr.TransferEEA, At: rep.GeneratedAt},
			{Recipient: "Old Entry Ltd", Country: "GB", Safeguard: "adequacy decision", At: rep.GeneratedAt},
		}
		page, err := dsr.RenderHTML(rep)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range append(tc.want, "adequacy decision") {
			if !strings.Contains(string(page), w) {
				t.Errorf("%s: HTML lacks %q", tc.lang, w)
			}
		}
		if strings.Contains(string(page), ">scc<") || strings.Contains(string(page), ">safeguard<") {
			t.Errorf("%s: HTML shows a code", tc.lang)
		}
	}
}

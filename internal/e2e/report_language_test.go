//go:build integration

package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/privacyops/dsr/internal/dsr"
)

// TestAccessReportInGerman: ada asks through the public API with
// Accept-Language: de and reads her Art. 15 copy in German, JSON and HTML:
// per purpose the categories of data, the statement on automated decisions
// (marketing's segment, without legal or similarly significant effect),
// the rights that apply (no objection for billing, withdrawal of consent
// for newsletter and marketing); the controller's DPO and the competent
// supervisory authority; labels instead of table and attribute names. The
// purposes route, the code's mail and the completion notice are German too.
func TestAccessReportInGerman(t *testing.T) {
	cfg := awsConfig(t)
	stack, outbox := startStack(t, cfg, nil)
	c := &client{t: t, base: stack.URL, header: http.Header{"Accept-Language": {"de-DE,de;q=0.9,en;q=0.5"}}}

	var purposes struct {
		Purposes []struct{ Purpose, Description string }
	}
	if s, _, b := c.do("GET", "/v1/purposes", "", nil, &purposes); s != 200 || len(purposes.Purposes) == 0 ||
		purposes.Purposes[0].Description != "Werbung für unsere Produkte per E-Mail und Post." {
		t.Errorf("purposes in German: %d %s", s, b)
	}

	var sub submitted
	if s, _, b := c.do("POST", "/v1/requests", "", `{"type":"access","email":"ada@example.com"}`, &sub); s != http.StatusAccepted {
		t.Fatalf("submit: %d %s", s, b)
	}
	code := codeFromOutbox(t, outbox, sub.ID)
	if s, _, b := c.do("POST", "/v1/requests/"+sub.ID+"/verify", sub.StatusToken, map[string]string{"code": code}, nil); s != 200 {
		t.Fatalf("verify: %d %s", s, b)
	}
	rep, page := fetchReport(t, c, sub)
	// The code and the completion notice are German too, each followed by its English version.
	if m := mailTo(t, outbox, sub.ID, "ada@example.com", "Ihre Anfrage ist beantwortet / Your request is answered"); !strings.Contains(m, "Guten Tag") ||
		!strings.Contains(m, "Statusseite") || !strings.Contains(m, "---- English version ----") {
		t.Errorf("the completion notice is not in German:\n%s", m)
	}
	if m := mailTo(t, outbox, sub.ID, "ada@example.com", "Ihr Bestätigungscode lautet: "+code); !strings.Contains(m, "Your verification code is: "+code) {
		t.Errorf("the code's mail lacks its English version:\n%s", m)
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Language != dsr.LangDE {
		t.Fatalf("report language %q, want de", rep.Language)
	}
	checkGermanController(t, rep.Controller)
	rights := map[string][]string{}
	for _, p := range rep.Purposes {
		if len(p.Categories) == 0 || !strings.Contains(p.Categories[0], "Kontaktdaten") || p.Title == "" || p.Automated.Description == "" {
			t.Errorf("%s: categories %v, title %q, automated decisions %+v", p.Purpose, p.Categories, p.Title, p.Automated)
		}
		for _, r := range p.Rights {
			rights[p.Purpose] = append(rights[p.Purpose], string(r.Code))
			if r.Text == "" || r.Article == "" {
				t.Errorf("%s: right %+v without text or article", p.Purpose, r)
			}
		}
		for _, r := range p.Records {
			for attr, label := range r.Labels {
				if label == "" || label == attr || strings.HasPrefix(label, "Weitere gespeicherte Angabe") {
					t.Errorf("%s: attribute %s labelled %q", p.Purpose, attr, label)
				}
			}
		}
		switch p.Purpose {
		case "marketing":
			if !p.Automated.Exists || !strings.Contains(p.Automated.Description, "Segment") || !strings.Contains(p.Automated.Description, "keine rechtliche Wirkung") {
				t.Errorf("marketing's automated decisions: %+v", p.Automated)
			}
		default:
			if p.Automated.Exists || !strings.Contains(p.Automated.Description, "keine automatisierte Entscheidungsfindung") {
				t.Errorf("%s's automated decisions: %+v", p.Purpose, p.Automated)
			}
		}
	}
	for purpose, want := range map[string][]string{
		"marketing":     {"access", "rectification", "erasure", "restriction", "portability", "objection", "withdraw_consent", "complaint"},
		"newsletter":    {"access", "rectification", "erasure", "restriction", "portability", "objection", "withdraw_consent", "complaint"},
		"customer_care": {"access", "rectification", "erasure", "restriction", "objection", "complaint"},
		"billing":       {"access", "rectification", "erasure", "restriction", "complaint"},
	} {
		if !slices.Equal(rights[purpose], want) {
			t.Errorf("%s: rights %v, want %v", purpose, rights[purpose], want)
		}
	}
	for _, want := range []string{"Kontaktdaten", "Werbesegment", "Widerruf der Einwilligung", "Berliner Beauftragte für Datenschutz und Informationsfreiheit",
		"Einwilligung (Art. 6 Abs. 1 lit. a DSGVO)"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("JSON report lacks %q", want)
		}
	}
	checkGermanPage(t, page, tableNames(stack.Registry))
}

// checkGermanController: the report names the controller's DPO and the
// supervisory authority competent for its seat in Berlin (the template's
// defaults).
func checkGermanController(t *testing.T, c dsr.Controller) {
	t.Helper()
	if c.Name == "" || c.Contact == "" || c.DPO != "dpo@example.com" ||
		!strings.HasPrefix(c.SupervisoryAuthority.Name, "Berliner Beauftragte für Datenschutz und Informationsfreiheit") ||
		c.SupervisoryAuthority.URL != "https://www.datenschutz-berlin.de" {
		t.Errorf("controller %+v", c)
	}
}

// checkGermanPage: the HTML report is German, shows labels, never a
// physical table name nor a raw attribute name.
func checkGermanPage(t *testing.T, page string, tables []string) {
	t.Helper()
	for _, want := range []string{`<html lang="de">`, "Kopie Ihrer personenbezogenen Daten", "Zweck: Rechnungen und Zahlungen", "Kategorien von Daten",
		"Automatisierte Entscheidungen und Profiling", "keine rechtliche Wirkung", "Datenschutzbeauftragte(r)</dt><dd>dpo@example.com",
		"Zuständige Aufsichtsbehörde", "https://www.datenschutz-berlin.de", "Widerruf der Einwilligung", "Rechnungsnummer", "E-Mail-Adresse",
		"Uhr (UTC)", "INV-2026-0100"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	banned := []string{"Purpose:", "Weitere gespeicherte Angabe"}
	for _, attr := range []string{"customerEmail", "dsrSubjectKey", "invoiceNumber", "segment", "email", "contactId", "issuedOn"} {
		banned = append(banned, `scope="row">`+attr+"<")
	}
	for _, banned := range append(banned, tables...) {
		if strings.Contains(page, banned) {
			t.Errorf("HTML report shows %q", banned)
		}
	}
	// Billing's rights: no objection (Art. 21 does not apply).
	_, billing, _ := strings.Cut(page, "Zweck: Rechnungen und Zahlungen")
	billing, _, _ = strings.Cut(billing, "</section>")
	if strings.Contains(billing, "Widerspruch") || strings.Contains(billing, "Widerruf") || !strings.Contains(billing, "Beschwerde") {
		t.Errorf("billing's rights in the HTML: %s", billing)
	}
}

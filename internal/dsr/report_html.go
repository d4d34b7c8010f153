package dsr

import (
	"bytes"
	"fmt"
	"html"
	"sort"
	"strings"
	"time"
)

// reportText holds the words of the HTML report in one language.
type reportText struct {
	title, heading, intro                                      string
	request, generated, searched, controller, contact, dpo     string
	authority, authorityNote                                   string
	purpose, whatFor, categories, basis, keptFor, automated    string
	rights, records, noRecords, sources, noSources, source     string
	when, recipients, noRecipients, recipient, country, safe   string
	transfer, notRecorded                                      string
	lang                                                       Language
	allRights, footer, noAutomated, furtherData, months, clock string
}

var reportTexts = map[Language]reportText{
	LangDE: {
		lang:    LangDE,
		title:   "Ihre personenbezogenen Daten bei %s",
		heading: "Kopie Ihrer personenbezogenen Daten",
		intro: `Dies ist die Kopie der personenbezogenen Daten, die <strong>%s</strong> über <strong>%s</strong> gespeichert hat,
nach Artikel 15 der Datenschutz-Grundverordnung (DSGVO). Eine maschinenlesbare Kopie derselben Daten (JSON) erhalten Sie
auf derselben Seite, von der Sie diese Datei heruntergeladen haben.`,
		request: "Anfrage", generated: "Erstellt", searched: "Gesucht", controller: "Verantwortlicher", contact: "Kontakt",
		dpo: "Datenschutzbeauftragte(r)", authority: "Zuständige Aufsichtsbehörde",
		authorityNote: "Sie können sich bei jeder Aufsichtsbehörde beschweren (Art. 77 DSGVO); zuständig für uns ist diese.",
		purpose:       "Zweck", whatFor: "Wofür", categories: "Kategorien von Daten", basis: "Rechtsgrundlage", keptFor: "Speicherdauer",
		automated: "Automatisierte Entscheidungen und Profiling", rights: "Ihre Rechte für diesen Zweck",
		records: "Datensätze (%d)", noRecords: "Für diesen Zweck haben wir keine Daten über Sie gespeichert.",
		sources: "Woher die Daten stammen", noSources: "Keine Herkunft verzeichnet.", source: "Herkunft", when: "Wann",
		recipients: "An wen die Daten weitergegeben wurden", noRecipients: "Keine Weitergabe verzeichnet.",
		recipient: "Empfänger", country: "Land", safe: "Garantie", transfer: "Grundlage der Übermittlung", notRecorded: "nicht verzeichnet",
		allRights: "Ihre Rechte im Überblick",
		footer:    "Erstellt für die Anfrage %s. Diese Seite ist in sich geschlossen: Sie lädt nichts von anderswo.",
		noAutomated: "Keine: Für diesen Zweck gibt es keine automatisierte Entscheidungsfindung einschließlich Profiling " +
			"(Art. 22 DSGVO).",
		furtherData: "Weitere gespeicherte Angabe",
		months:      "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
		clock:       "%d. %s %d, %02d:%02d Uhr (UTC)",
	},
	LangEN: {
		lang:    LangEN,
		title:   "Your personal data held by %s",
		heading: "Copy of your personal data",
		intro: `This is the copy of the personal data that <strong>%s</strong> holds about <strong>%s</strong>,
as required by Article 15 of the General Data Protection Regulation (GDPR). A machine-readable copy of the same data
(JSON) is available from the same page you downloaded this from.`,
		request: "Request", generated: "Generated", searched: "Searched", controller: "Controller", contact: "Contact",
		dpo: "Data protection officer", authority: "Competent supervisory authority",
		authorityNote: "You may complain to any supervisory authority (Art. 77 GDPR); this is the one competent for us.",
		purpose:       "Purpose", whatFor: "What for", categories: "Categories of data", basis: "Legal basis", keptFor: "Kept for",
		automated: "Automated decisions and profiling", rights: "Your rights for this purpose",
		records: "Records (%d)", noRecords: "We hold no records about you for this purpose.",
		sources: "Where the data came from", noSources: "No source is recorded.", source: "Source", when: "When",
		recipients: "To whom it was disclosed", noRecipients: "No disclosure is recorded.",
		recipient: "Recipient", country: "Country", safe: "Safeguard", transfer: "Transfer basis", notRecorded: "not recorded",
		allRights: "Your rights at a glance",
		footer:    "Generated for request %s. This page is self-contained: it loads nothing from elsewhere.",
		noAutomated: "None: this purpose involves no automated decision-making, including profiling " +
			"(Art. 22 GDPR).",
		furtherData: "Further stored data",
		months:      "January February March April May June July August September October November December",
		clock:       "%d %s %d, %02d:%02d UTC",
	},
}

// texts are the HTML report's words in rep's language.
func (rep *Report) texts() reportText {
	if t, ok := reportTexts[rep.Language]; ok {
		return t
	}
	return reportTexts[LangEN]
}

// RenderHTML renders rep as one self-contained HTML page in the report's
// language: inline styles, no scripts, fonts or images from elsewhere.
// Every stored value is escaped; records show their attributes' labels,
// never a table's or an attribute's name.
//
// It writes the page by hand rather than with html/template: template
// execution calls methods by reflection, which stops the linker from
// dropping unused methods: the worker binary was 70% larger with it.
func RenderHTML(rep *Report) ([]byte, error) {
	var b bytes.Buffer
	e, t := html.EscapeString, rep.texts()
	fmt.Fprintf(&b, pageHead, e(string(rep.Language)), e(fmt.Sprintf(t.title, rep.Controller.Name)))
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p>"+t.intro+"</p>\n<dl>\n", e(t.heading), e(rep.Controller.Name), e(rep.Subject.Email))
	c := rep.Controller
	for _, row := range [][2]string{
		{t.request, rep.RequestID}, {t.generated, reportDate(rep.GeneratedAt, t)}, {t.searched, rep.Subject.Searched},
		{t.controller, c.Name}, {t.contact, c.Contact}, {t.dpo, c.DPO},
	} {
		fmt.Fprintf(&b, "<dt>%s</dt><dd>%s</dd>\n", e(row[0]), e(row[1]))
	}
	fmt.Fprintf(&b, "<dt>%s</dt><dd>%s (<a href=\"%s\">%s</a>)<br><span class=\"none\">%s</span></dd>\n</dl>\n",
		e(t.authority), e(c.SupervisoryAuthority.Name), e(c.SupervisoryAuthority.URL), e(c.SupervisoryAuthority.URL), e(t.authorityNote))
	for _, p := range rep.Purposes {
		writePurposeHTML(&b, p, t)
	}
	fmt.Fprintf(&b, "<h2>%s</h2>\n<ul>", e(t.allRights))
	for _, r := range rep.Rights {
		fmt.Fprintf(&b, "<li>%s</li>", e(r))
	}
	fmt.Fprintf(&b, "</ul>\n<footer>%s</footer>\n</body>\n</html>\n", e(fmt.Sprintf(t.footer, rep.RequestID)))
	return b.Bytes(), nil
}

// reportDate shows a time to a person in the form of the report's
// language, in UTC.
func reportDate(at time.Time, t reportText) string {
	at = at.UTC()
	var months [12]string
	copy(months[:], strings.Fields(t.months))
	return fmt.Sprintf(t.clock, at.Day(), months[at.Month()-1], at.Year(), at.Hour(), at.Minute())
}

// writePurposeHTML writes the section of purpose p: what it is for, its
// categories, basis, retention, automated decisions and rights, the
// records, where the data came from and to whom it was disclosed.
func writePurposeHTML(b *bytes.Buffer, p PurposeReport, t reportText) {
	e := html.EscapeString
	fmt.Fprintf(b, "<section>\n<h2>%s: %s</h2>\n<dl>\n", e(t.purpose), e(p.Title))
	fmt.Fprintf(b, "<dt>%s</dt><dd>%s</dd>\n<dt>%s</dt><dd><ul>", e(t.whatFor), e(p.Description), e(t.categories))
	for _, c := range p.Categories {
		fmt.Fprintf(b, "<li>%s</li>", e(c))
	}
	fmt.Fprintf(b, "</ul></dd>\n<dt>%s</dt><dd>%s</dd>\n<dt>%s</dt><dd>%s</dd>\n<dt>%s</dt><dd>%s</dd>\n</dl>\n",
		e(t.basis), e(p.LegalBasis), e(t.keptFor), e(p.Retention), e(t.automated), e(p.Automated.Description))
	fmt.Fprintf(b, "<h3>%s</h3>\n<ul>", e(t.rights))
	for _, r := range p.Rights {
		fmt.Fprintf(b, "<li>%s <span class=\"none\">(%s)</span></li>", e(r.Text), e(r.Article))
	}
	fmt.Fprintf(b, "</ul>\n<h3>%s</h3>\n", e(fmt.Sprintf(t.records, len(p.Records))))
	if len(p.Records) == 0 {
		fmt.Fprintf(b, "<p class=\"none\">%s</p>\n", e(t.noRecords))
	}
	for _, r := range p.Records {
		writeRecordHTML(b, r)
		writeConsentsHTML(b, r.Consents, t)
	}
	fmt.Fprintf(b, "<h3>%s</h3>\n", e(t.sources))
	if len(p.Sources) == 0 {
		fmt.Fprintf(b, "<p class=\"none\">%s</p>\n", e(t.noSources))
	} else {
		fmt.Fprintf(b, "<table><tr><th>%s</th><th>%s</th></tr>\n", e(t.source), e(t.when))
		for _, s := range p.Sources {
			fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td></tr>\n", e(s.Source), reportDate(s.At, t))
		}
		b.WriteString("</table>\n")
	}
	fmt.Fprintf(b, "<h3>%s</h3>\n", e(t.recipients))
	if len(p.Recipients) == 0 {
		fmt.Fprintf(b, "<p class=\"none\">%s</p>\n", e(t.noRecipients))
	} else {
		fmt.Fprintf(b, "<table><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>\n", e(t.recipient), e(t.country), e(t.transfer), e(t.safe), e(t.when))
		for _, r := range p.Recipients {
			fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", e(r.Recipient), e(r.Country),
				e(transferText(r.TransferBasis, t)), e(safeguardText(r.Safeguard, t.lang)), reportDate(r.At, t))
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("</section>\n")
}

// writeRecordHTML writes record r as a table of its attributes, by label,
// in the order of the labels.
func writeRecordHTML(b *bytes.Buffer, r ReportedRecord) {
	e := html.EscapeString
	b.WriteString("<table>\n")
	keys := sortedKeys(r.Item)
	sortByLabel(keys, r.Labels)
	for _, k := range keys {
		fmt.Fprintf(b, "<tr><th scope=\"row\">%s</th><td>%s</td></tr>\n", e(r.Labels[k]), e(displayValue(r.Item[k])))
	}
	b.WriteString("</table>\n")
}

// transferTexts name a recipient's transfer basis (Chapter V) to a person.
var transferTexts = map[string]Text{
	TransferEEA:        {LangDE: "im EWR: keine Übermittlung in ein Drittland", LangEN: "inside the EEA: no transfer to a third country"},
	TransferAdequacy:   {LangDE: "Angemessenheitsbeschluss der Kommission (Art. 45 DSGVO)", LangEN: "adequacy decision of the Commission (Art. 45 GDPR)"},
	TransferSafeguard:  {LangDE: "geeignete Garantien (Art. 46, 47 DSGVO)", LangEN: "appropriate safeguards (Art. 46, 47 GDPR)"},
	TransferDerogation: {LangDE: "Ausnahme für einen bestimmten Fall (Art. 49 DSGVO)", LangEN: "derogation for a specific situation (Art. 49 GDPR)"},
}

// transferText is transfer basis basis in the words of t's language.
func transferText(basis string, t reportText) string {
	if s, ok := transferTexts[basis]; ok {
		return s.In(t.lang)
	}
	if basis == "" {
		return t.notRecorded
	}
	return basis
}

// safeguardsDE are the Safeguards in German.
var safeguardsDE = map[string]string{
	SafeguardDPF:                   "Art. 45: zertifiziert nach dem EU-US-Datenschutzrahmen (Data Privacy Framework)",
	"scc":                          "Art. 46 Abs. 2 lit. c: von der Kommission erlassene Standarddatenschutzklauseln",
	"sa_scc":                       "Art. 46 Abs. 2 lit. d: von einer Aufsichtsbehörde angenommene Standarddatenschutzklauseln",
	"bcr":                          "Art. 46 Abs. 2 lit. b, Art. 47: verbindliche interne Datenschutzvorschriften",
	"code_of_conduct":              "Art. 46 Abs. 2 lit. e: genehmigte Verhaltensregeln mit verbindlichen Verpflichtungen",
	"certification":                "Art. 46 Abs. 2 lit. f: genehmigter Zertifizierungsmechanismus mit verbindlichen Verpflichtungen",
	"public_authority_instrument":  "Art. 46 Abs. 2 lit. a: rechtlich bindendes Dokument zwischen Behörden",
	"authorised_clauses":           "Art. 46 Abs. 3 lit. a: von der Aufsichtsbehörde genehmigte Vertragsklauseln",
	"administrative_arrangement":   "Art. 46 Abs. 3 lit. b: Verwaltungsvereinbarung zwischen Behörden",
	"explicit_consent":             "Art. 49 Abs. 1 lit. a: Ihre ausdrückliche Einwilligung nach Unterrichtung über die Risiken",
	"contract_with_subject":        "Art. 49 Abs. 1 lit. b: erforderlich für einen Vertrag mit Ihnen",
	"contract_in_subject_interest": "Art. 49 Abs. 1 lit. c: erforderlich für einen Vertrag in Ihrem Interesse",
	"public_interest":              "Art. 49 Abs. 1 lit. d: wichtige Gründe des öffentlichen Interesses",
	"legal_claims":                 "Art. 49 Abs. 1 lit. e: Geltendmachung, Ausübung oder Verteidigung von Rechtsansprüchen",
	"vital_interests":              "Art. 49 Abs. 1 lit. f: lebenswichtige Interessen von Ihnen oder anderen",
	"public_register":              "Art. 49 Abs. 1 lit. g: ein öffentliches Register",
	"compelling_interests":         "Art. 49 Abs. 1 Unterabs. 2: zwingende berechtigte Interessen, die Aufsichtsbehörde unterrichtet",
}

// safeguardText is a recipient's safeguard in language l: its provision
// and words for a value of Safeguards, the value itself otherwise (one
// recorded before the closed list), "" for none.
func safeguardText(code string, l Language) string {
	if s, ok := safeguardsDE[code]; ok && l == LangDE {
		return s
	}
	if s, ok := Safeguards[code]; ok {
		return s
	}
	return code
}

// sortByLabel orders attribute names keys by their labels.
func sortByLabel(keys []string, labels map[string]string) {
	sort.SliceStable(keys, func(i, j int) bool { return labels[keys[i]] < labels[keys[j]] })
}

const pageHead = `<!DOCTYPE html>
<html lang="%s">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s</title>
<style>
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.5rem;border-bottom:2px solid #ddd;padding-bottom:.25rem}
h3{font-size:1rem;margin:1.25rem 0 .5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0}dd ul{margin:0;padding-left:1.2rem}
table{border-collapse:collapse;width:100%%;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top;word-break:break-word}
th{background:#f3f3f3;word-break:normal}th[scope=row]{width:14rem}
.none{color:#666;font-style:italic}
footer{margin-top:3rem;font-size:.85rem;color:#555}
</style>
</head>
<body>
`

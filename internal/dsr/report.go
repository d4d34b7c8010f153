package dsr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"sort"
	"time"
)

// Rights lists the rights a person is told of in every access report
// (Art. 15(1)(e), (f)).
var Rights = []string{"rectification", "erasure", "restriction", "objection", "complaint to a supervisory authority"}

// Report is the access report of docs/api.md (JSON form).
type Report struct {
	RequestID   string          `json:"requestId"`
	GeneratedAt time.Time       `json:"generatedAt"`
	Subject     ReportSubject   `json:"subject"`
	Controller  Controller      `json:"controller"`
	Purposes    []PurposeReport `json:"purposes"`
	Rights      []string        `json:"rights"`
}

// ReportSubject identifies the person the report is about, and says which
// records were searched for (SearchedFor).
type ReportSubject struct {
	Email    string `json:"email"`
	Searched string `json:"searched"`
}

// SearchedFor says which records a request of email searched: those the
// one address rule links to the address, whatever form the CRM stored it in.
func SearchedFor(email string) string {
	return "records linked to the address " + email + ", in any letter case, with spaces around it, and with an internationalized domain in either form"
}

// SearchedForVerified is SearchedFor without the address, for answers that
// hold no personal data (the certificate).
const SearchedForVerified = "records linked to the address this request was verified for, in any letter case, with spaces around it, and with an internationalized domain in either form"

// Controller names the controller and how to reach it.
type Controller struct {
	Name    string `json:"name"`
	Contact string `json:"contact"`
}

// PurposeReport is one purpose of the registry with the subject's records
// and the provenance of those records.
type PurposeReport struct {
	Purpose     string `json:"purpose"`
	Description string `json:"description"`
	LegalBasis  string `json:"legalBasis"`
	Retention   string `json:"retention"`
	// RecordsFound counts Records.
	RecordsFound int         `json:"recordsFound"`
	Records      []Record    `json:"records"`
	Sources      []Source    `json:"sources"`
	Recipients   []Recipient `json:"recipients"`
}

// Record is one stored item, every attribute as stored.
type Record struct {
	Table string         `json:"table"`
	Item  map[string]any `json:"item"`
}

// Source is where a purpose's data came from.
type Source struct {
	Source string    `json:"source"`
	At     time.Time `json:"at"`
}

// Recipient is to whom a purpose's data was disclosed.
type Recipient struct {
	Recipient string    `json:"recipient"`
	Country   string    `json:"country"`
	Safeguard string    `json:"safeguard"`
	At        time.Time `json:"at"`
	// Purposes the recipient received data for: set where recipients of
	// several purposes are listed together (a request's result).
	Purposes []string `json:"purposes,omitempty"`
	// TransferBasis is why the disclosure is lawful (Art. 15(2)): eea,
	// adequacy, safeguard or derogation; "" where it was not recorded.
	TransferBasis string `json:"transferBasis,omitempty"`
}

// Chunk is what one worker did for one page of a purpose: for access, the
// records it found; for erasure and objection, the keys of the items it
// deleted or restricted (opaque references, no personal data), the cursor
// after them, and in the last chunk the read-back.
type Chunk struct {
	RequestID string    `json:"requestId"`
	Purpose   string    `json:"purpose"`
	Index     int       `json:"chunk"` // the chunk's place in its purpose's part, from 0
	At        time.Time `json:"at,omitzero"`
	Records   []Record  `json:"records,omitempty"`
	Keys      []string  `json:"keys,omitempty"`
	Next      string    `json:"next,omitempty"`
	ReadBack  *ReadBack `json:"readBack,omitempty"`
	// Recipients (erasure and objection, first chunk): those the purpose's
	// data was disclosed to, read before its provenance is removed.
	Recipients []Recipient `json:"recipients,omitempty"`
}

// AssembleReport builds the report of request req from the parts found and
// the subject's provenance (ProvenanceByPurpose), with every purpose of the
// registry, in registry order, and records, sources and recipients [] where
// there are none. Records keep the order of the parts' chunks.
func AssembleReport(req *Request, reg Registry, ctrl Controller, parts []Chunk, prov map[string]Provenance, now time.Time) (*Report, error) {
	byPurpose := map[string][]Chunk{}
	for _, p := range parts {
		if _, ok := reg.Lookup(p.Purpose); !ok {
			return nil, fmt.Errorf("assemble report: part of unknown purpose %q", p.Purpose)
		}
		if p.RequestID != req.ID {
			return nil, fmt.Errorf("assemble report: part of another request")
		}
		byPurpose[p.Purpose] = append(byPurpose[p.Purpose], p)
	}
	rep := &Report{
		RequestID:   req.ID,
		GeneratedAt: now.UTC(),
		Subject:     ReportSubject{Email: req.Email, Searched: SearchedFor(req.Email)},
		Controller:  ctrl,
		Rights:      Rights,
	}
	for _, p := range reg {
		chunks := byPurpose[p.Name]
		sort.Slice(chunks, func(i, j int) bool { return chunks[i].Index < chunks[j].Index })
		pr := PurposeReport{
			Purpose: p.Name, Description: p.Description, LegalBasis: p.LegalBasis, Retention: p.Retention,
			Records: []Record{}, Sources: []Source{}, Recipients: []Recipient{},
		}
		for _, c := range chunks {
			pr.Records = append(pr.Records, c.Records...)
		}
		pr.RecordsFound = len(pr.Records)
		pr.Sources = append(pr.Sources, prov[p.Name].Sources...)
		pr.Recipients = append(pr.Recipients, prov[p.Name].Recipients...)
		rep.Purposes = append(rep.Purposes, pr)
	}
	return rep, nil
}

// RenderHTML renders rep as one self-contained HTML page: inline styles, no
// scripts, fonts or images from elsewhere. Every stored value is escaped.
//
// It writes the page by hand rather than with html/template: template
// execution calls methods by reflection, which stops the linker from
// dropping unused methods: the worker binary was 70% larger with it.
func RenderHTML(rep *Report) ([]byte, error) {
	var b bytes.Buffer
	e := html.EscapeString
	fmt.Fprintf(&b, pageHead, e(rep.Controller.Name))
	fmt.Fprintf(&b, `<h1>Copy of your personal data</h1>
<p>This is the copy of the personal data that <strong>%s</strong> holds about <strong>%s</strong>,
as required by Article 15 of the General Data Protection Regulation. A machine-readable copy of the same data
(JSON) is available from the same page you downloaded this from.</p>
<dl>
<dt>Request</dt><dd>%s</dd>
<dt>Generated</dt><dd>%s</dd>
<dt>Searched</dt><dd>%s</dd>
<dt>Controller</dt><dd>%s</dd>
<dt>Contact</dt><dd>%s</dd>
</dl>
`, e(rep.Controller.Name), e(rep.Subject.Email), e(rep.RequestID), reportDate(rep.GeneratedAt), e(rep.Subject.Searched), e(rep.Controller.Name), e(rep.Controller.Contact))
	for _, p := range rep.Purposes {
		writePurposeHTML(&b, p)
	}
	b.WriteString("<h2>Your rights</h2>\n<p>You have the right to:</p>\n<ul>")
	for _, r := range rep.Rights {
		fmt.Fprintf(&b, "<li>%s</li>", e(r))
	}
	fmt.Fprintf(&b, "</ul>\n<footer>Generated for request %s. This page is self-contained: it loads nothing from elsewhere.</footer>\n</body>\n</html>\n", e(rep.RequestID))
	return b.Bytes(), nil
}

// reportDate shows a time to a person, in UTC.
func reportDate(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") }

// writePurposeHTML writes the section of purpose p: what it is for, the
// records, where the data came from and to whom it was disclosed.
func writePurposeHTML(b *bytes.Buffer, p PurposeReport) {
	e := html.EscapeString
	fmt.Fprintf(b, `<section>
<h2>Purpose: %s</h2>
<dl>
<dt>What for</dt><dd>%s</dd>
<dt>Legal basis</dt><dd>%s</dd>
<dt>Kept for</dt><dd>%s</dd>
</dl>
<h3>Records (%d)</h3>
`, e(p.Purpose), e(p.Description), e(p.LegalBasis), e(p.Retention), len(p.Records))
	if len(p.Records) == 0 {
		b.WriteString("<p class=\"none\">We hold no records about you for this purpose.</p>\n")
	}
	for _, r := range p.Records {
		writeRecordHTML(b, r)
	}
	b.WriteString("<h3>Where the data came from</h3>\n")
	if len(p.Sources) == 0 {
		b.WriteString("<p class=\"none\">No source is recorded.</p>\n")
	} else {
		b.WriteString("<table><tr><th>Source</th><th>When</th></tr>\n")
		for _, s := range p.Sources {
			fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td></tr>\n", e(s.Source), reportDate(s.At))
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("<h3>To whom it was disclosed</h3>\n")
	if len(p.Recipients) == 0 {
		b.WriteString("<p class=\"none\">No disclosure is recorded.</p>\n")
	} else {
		b.WriteString("<table><tr><th>Recipient</th><th>Country</th><th>Safeguard</th><th>When</th></tr>\n")
		for _, r := range p.Recipients {
			fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", e(r.Recipient), e(r.Country), e(r.Safeguard), reportDate(r.At))
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("</section>\n")
}

// writeRecordHTML writes record r as a table of its attributes, by name.
func writeRecordHTML(b *bytes.Buffer, r Record) {
	e := html.EscapeString
	fmt.Fprintf(b, "<table><caption class=\"none\">table %s</caption>\n", e(r.Table))
	keys := make([]string, 0, len(r.Item))
	for k := range r.Item {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "<tr><th scope=\"row\">%s</th><td>%s</td></tr>\n", e(k), e(displayValue(r.Item[k])))
	}
	b.WriteString("</table>\n")
}

const pageHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your personal data held by %s</title>
<style>
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.5rem;border-bottom:2px solid #ddd;padding-bottom:.25rem}
h3{font-size:1rem;margin:1.25rem 0 .5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0}
table{border-collapse:collapse;width:100%%;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top;word-break:break-word}
th{background:#f3f3f3}th[scope=row]{width:14rem}
.none{color:#666;font-style:italic}
footer{margin-top:3rem;font-size:.85rem;color:#555}
</style>
</head>
<body>
`

// displayValue shows a stored value to a person: strings and numbers as they
// are, anything else (lists, maps, binary) as its JSON.
func displayValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Document is a finished answer to a request, as the person downloads it:
// its value is the file's name.
type Document string

// The documents a request can have.
const (
	DocReportJSON  Document = "report.json"      // Art. 15 copy, machine-readable
	DocReportHTML  Document = "report.html"      // the same, to read
	DocCertificate Document = "certificate.json" // what an erasure or objection did
)

// ReportDocument is the report document in format ("json" or "html").
func ReportDocument(format string) (Document, bool) {
	switch format {
	case "json":
		return DocReportJSON, true
	case "html":
		return DocReportHTML, true
	}
	return "", false
}

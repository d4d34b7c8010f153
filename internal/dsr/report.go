package dsr

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Report is the access report of docs/api.md (JSON form), in the language
// of its request: the keys are the same in every language, the texts are
// the request's.
type Report struct {
	RequestID   string          `json:"requestId"`
	GeneratedAt time.Time       `json:"generatedAt"`
	Language    Language        `json:"language"`
	Subject     ReportSubject   `json:"subject"`
	Controller  Controller      `json:"controller"`
	Purposes    []PurposeReport `json:"purposes"`
	// Rights summarizes, by their names in the report's language, every
	// right that applies to at least one purpose (each purpose's Rights
	// say which apply to it, and on which article).
	Rights []string `json:"rights"`
}

// ReportSubject identifies the person the report is about, and says which
// records were searched for (SearchedFor).
type ReportSubject struct {
	Email    string `json:"email"`
	Searched string `json:"searched"`
}

// SearchedFor says which records a request of email searched: those the
// one address rule links to the address, whatever form the CRM stored it in.
func SearchedFor(email string) string { return searchedFor(email, LangEN) }

func searchedFor(email string, l Language) string {
	if l == LangDE {
		return "Datensätze, die mit der Adresse " + email + " verknüpft sind, in beliebiger Groß- und Kleinschreibung, mit Leerzeichen davor oder danach und mit einer internationalisierten Domain in beiden Schreibweisen"
	}
	return "records linked to the address " + email + ", in any letter case, with spaces around it, and with an internationalized domain in either form"
}

// SearchedForVerified is SearchedFor without the address, for answers that
// hold no personal data (the certificate).
const SearchedForVerified = "records linked to the address this request was verified for, in any letter case, with spaces around it, and with an internationalized domain in either form"

// Controller names the controller and how to reach it, its data protection
// officer (Art. 13(1)(b), 37(7)) and the supervisory authority competent
// for it (Art. 77, 15(1)(f)).
type Controller struct {
	Name                 string    `json:"name"`
	Contact              string    `json:"contact"`
	DPO                  string    `json:"dpo,omitempty"`
	SupervisoryAuthority Authority `json:"supervisoryAuthority,omitzero"`
}

// Authority is a supervisory authority: its name and web address.
type Authority struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Check reports what is missing or wrong in c, as a configuration error
// (every field is needed; the authority's address is an https URL).
func (c Controller) Check() error {
	var missing []string
	for name, v := range map[string]string{"name": c.Name, "contact": c.Contact, "DPO contact": c.DPO, "supervisory authority name": c.SupervisoryAuthority.Name} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("controller: %s missing", strings.Join(missing, ", "))
	}
	u, err := url.Parse(c.SupervisoryAuthority.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return fmt.Errorf("controller: the supervisory authority's URL must be an https URL, got %q", c.SupervisoryAuthority.URL)
	}
	return nil
}

// PurposeReport is one purpose of the registry with the subject's records
// and the provenance of those records, its texts in the report's language.
type PurposeReport struct {
	Purpose     string `json:"purpose"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// Categories of the personal data processed (Art. 15(1)(b)).
	Categories []string `json:"categories"`
	// LegalBasis names the ground of Art. 6(1) in words, LegalBasisCode
	// as the LegalBasis value ("" where the registry's text names none).
	LegalBasis     string           `json:"legalBasis"`
	LegalBasisCode LegalBasis       `json:"legalBasisCode"`
	Retention      string           `json:"retention"`
	Automated      AutomatedReport  `json:"automatedDecisions"`
	Rights         []Right          `json:"rights"`
	RecordsFound   int              `json:"recordsFound"` // counts Records
	Records        []ReportedRecord `json:"records"`
	Sources        []Source         `json:"sources"`
	Recipients     []Recipient      `json:"recipients"`
}

// AutomatedReport is the statement on automated decision-making, including
// profiling (Art. 15(1)(h)): whether there is any, and what it is.
type AutomatedReport struct {
	Exists      bool   `json:"exists"`
	Description string `json:"description"`
}

// ReportedRecord is one stored item as the report holds it: the item as
// stored (the machine-readable copy) and, per attribute, the label a person
// reads instead of the attribute's name.
type ReportedRecord struct {
	Item   map[string]any    `json:"item"`
	Labels map[string]string `json:"labels"`
	// Consents is the consent of each channel of the purpose, as the
	// record holds it (channels.go); none for a purpose without channels.
	Consents []ChannelState `json:"consents,omitempty"`
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
	// Rectified (rectification): what the purpose's read-back found.
	Rectified *RectifiedPart `json:"rectified,omitempty"`
	// Preferences (a preferences request, its purpose's only chunk): what
	// the read-back found.
	Preferences *PreferencesOutcome `json:"preferences,omitempty"`
}

// AssembleReport builds the report of request req from the parts found and
// the subject's provenance (ProvenanceByPurpose), with every purpose of the
// registry, in registry order, and records, sources and recipients [] where
// there are none. Records keep the order of the parts' chunks. Its texts
// are in the request's language, or fallback for a request without one
// (English if fallback is none of Languages either).
func AssembleReport(req *Request, reg Registry, ctrl Controller, parts []Chunk, prov map[string]Provenance, now time.Time, fallback Language) (*Report, error) {
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
	l := req.Language
	if _, ok := ParseLanguage(string(l)); !ok {
		l = fallback
	}
	if _, ok := ParseLanguage(string(l)); !ok {
		l = LangEN
	}
	rep := &Report{
		RequestID: req.ID, GeneratedAt: now.UTC(), Language: l,
		Subject:    ReportSubject{Email: req.Email, Searched: searchedFor(req.Email, l)},
		Controller: ctrl,
	}
	for _, p := range reg {
		chunks := byPurpose[p.Name]
		sort.Slice(chunks, func(i, j int) bool { return chunks[i].Index < chunks[j].Index })
		pr := purposeReport(p, l)
		for _, c := range chunks {
			for _, r := range c.Records {
				pr.Records = append(pr.Records, reportedRecord(p, r, l))
			}
		}
		pr.RecordsFound = len(pr.Records)
		pr.Sources = append(pr.Sources, prov[p.Name].Sources...)
		pr.Recipients = append(pr.Recipients, prov[p.Name].Recipients...)
		rep.Purposes = append(rep.Purposes, pr)
	}
	rep.Rights = rightsSummary(reg, l)
	return rep, nil
}

// purposeReport is what the report says of purpose p in language l, before
// the records and provenance are added.
func purposeReport(p Purpose, l Language) PurposeReport {
	pr := PurposeReport{
		Purpose: p.Name, Title: p.Title.In(l), Description: p.Description.In(l), Categories: p.Categories.In(l),
		LegalBasis: basisText(p, l), LegalBasisCode: p.Basis(), Retention: p.Retention.In(l),
		Automated: AutomatedReport{Description: reportTexts[l].noAutomated},
		Rights:    p.Rights(l), Records: []ReportedRecord{}, Sources: []Source{}, Recipients: []Recipient{},
	}
	if !p.AutomatedDecisions.None {
		pr.Automated = AutomatedReport{Exists: true, Description: p.AutomatedDecisions.Text.In(l)}
	}
	return pr
}

// reportedRecord is record r of purpose p with its attributes' labels in
// language l: an attribute the registry does not label is "further data".
func reportedRecord(p Purpose, r Record, l Language) ReportedRecord {
	labels := make(map[string]string, len(r.Item))
	unlabeled := 0
	for _, k := range sortedKeys(r.Item) {
		if label, ok := p.Label(k, l); ok {
			labels[k] = label
			continue
		}
		unlabeled++
		labels[k] = fmt.Sprintf("%s %d", reportTexts[l].furtherData, unlabeled)
	}
	return ReportedRecord{Item: r.Item, Labels: labels, Consents: p.ConsentsOf(r.Item)}
}

// rightsSummary names, in language l, every right that applies to at least
// one purpose of reg, in the order of RightsOf.
func rightsSummary(reg Registry, l Language) []string {
	order := []RightCode{RightAccess, RightRectification, RightErasure, RightRestriction, RightPortability, RightObjection, RightWithdrawConsent, RightComplaint}
	applies := map[RightCode]bool{}
	for _, p := range reg {
		for _, r := range p.RightsOf() {
			applies[r.Code] = true
		}
	}
	out := []string{}
	for _, c := range order {
		if applies[c] {
			out = append(out, RightName(c, l))
		}
	}
	return out
}

// basisText names p's legal basis in language l, with its point of Art.
// 6(1); the registry's own words where they name no basis.
func basisText(p Purpose, l Language) string {
	if t, ok := basisTexts[p.Basis()]; ok {
		return t.In(l)
	}
	return p.LegalBasis
}

var basisTexts = map[LegalBasis]Text{
	BasisConsent:             {LangDE: "Einwilligung (Art. 6 Abs. 1 lit. a DSGVO)", LangEN: "consent (Art. 6(1)(a) GDPR)"},
	BasisContract:            {LangDE: "Vertrag (Art. 6 Abs. 1 lit. b DSGVO)", LangEN: "contract (Art. 6(1)(b) GDPR)"},
	BasisLegalObligation:     {LangDE: "rechtliche Verpflichtung (Art. 6 Abs. 1 lit. c DSGVO)", LangEN: "legal obligation (Art. 6(1)(c) GDPR)"},
	BasisVitalInterests:      {LangDE: "lebenswichtige Interessen (Art. 6 Abs. 1 lit. d DSGVO)", LangEN: "vital interests (Art. 6(1)(d) GDPR)"},
	BasisPublicTask:          {LangDE: "öffentliche Aufgabe (Art. 6 Abs. 1 lit. e DSGVO)", LangEN: "public task (Art. 6(1)(e) GDPR)"},
	BasisLegitimateInterests: {LangDE: "berechtigte Interessen (Art. 6 Abs. 1 lit. f DSGVO)", LangEN: "legitimate interests (Art. 6(1)(f) GDPR)"},
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

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

package dsr

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"sort"
	"time"
)

// Rights lists the rights a person is told of in every access report
// (Art. 15(1)(e), (f)).
var Rights = []string{"rectification", "erasure", "restriction", "objection", "complaint to a supervisory authority"}

// Report is the access report of api.md (JSON form).
type Report struct {
	RequestID   string          `json:"requestId"`
	GeneratedAt time.Time       `json:"generatedAt"`
	Subject     ReportSubject   `json:"subject"`
	Controller  Controller      `json:"controller"`
	Purposes    []PurposeReport `json:"purposes"`
	Rights      []string        `json:"rights"`
}

// ReportSubject identifies the person the report is about.
type ReportSubject struct {
	Email string `json:"email"`
}

// Controller names the controller and how to reach it.
type Controller struct {
	Name    string `json:"name"`
	Contact string `json:"contact"`
}

// PurposeReport is one purpose of the registry with the subject's records
// and the provenance of those records.
type PurposeReport struct {
	Purpose     string      `json:"purpose"`
	Description string      `json:"description"`
	LegalBasis  string      `json:"legalBasis"`
	Retention   string      `json:"retention"`
	Records     []Record    `json:"records"`
	Sources     []Source    `json:"sources"`
	Recipients  []Recipient `json:"recipients"`
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
}

// Part is what one worker found for one purpose: one chunk of its records.
type Part struct {
	RequestID string   `json:"requestId"`
	Purpose   string   `json:"purpose"`
	Chunk     int      `json:"chunk"`
	Records   []Record `json:"records"`
}

// AssembleReport builds the report of request req from the parts found,
// with every purpose of the registry, in registry order, and records: []
// where there are none. Records keep the order of the parts' chunks.
func AssembleReport(req *Request, reg Registry, ctrl Controller, parts []Part, now time.Time) (*Report, error) {
	byPurpose := map[string][]Part{}
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
		Subject:     ReportSubject{Email: req.Email},
		Controller:  ctrl,
		Rights:      Rights,
	}
	for _, p := range reg {
		chunks := byPurpose[p.Name]
		sort.Slice(chunks, func(i, j int) bool { return chunks[i].Chunk < chunks[j].Chunk })
		pr := PurposeReport{
			Purpose: p.Name, Description: p.Description, LegalBasis: p.LegalBasis, Retention: p.Retention,
			Records: []Record{}, Sources: []Source{}, Recipients: []Recipient{},
		}
		for _, c := range chunks {
			pr.Records = append(pr.Records, c.Records...)
		}
		rep.Purposes = append(rep.Purposes, pr)
	}
	return rep, nil
}

//go:embed report.html.tmpl
var reportHTML string

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"keys": func(m map[string]any) []string {
		k := make([]string, 0, len(m))
		for key := range m {
			k = append(k, key)
		}
		sort.Strings(k)
		return k
	},
	"value": func(v any) string { return fmt.Sprint(v) },
	"date":  func(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") },
}).Parse(reportHTML))

// RenderHTML renders rep as one self-contained HTML page: inline styles, no
// scripts, fonts or images from elsewhere.
func RenderHTML(rep *Report) ([]byte, error) {
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, rep); err != nil {
		return nil, fmt.Errorf("render report: %w", err)
	}
	return buf.Bytes(), nil
}

package dsr

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ExportSchemaID is the $id of the export's JSON Schema
// (docs/portability.schema.json), which every export names as its $schema.
const ExportSchemaID = "https://schemas.privacyops.example/dsr/portability/v1.schema.json"

// Export is the portability export of a request (Art. 20): per purpose in
// the scope, the records as the person provided them, only the attributes
// the registry marks provided. docs/portability.schema.json describes it.
type Export struct {
	Schema      string            `json:"$schema"`
	RequestID   string            `json:"requestId"`
	Controller  string            `json:"controller"`
	GeneratedAt time.Time         `json:"generatedAt"`
	Purposes    []ExportedPurpose `json:"purposes"`
}

// ExportedPurpose is one purpose of an export: its name and title, its
// legal basis (consent or contract), the attributes exported (the columns
// of its CSV file) and the records, [] where there are none.
type ExportedPurpose struct {
	Purpose    string           `json:"purpose"`
	Title      string           `json:"title"`
	LegalBasis LegalBasis       `json:"legalBasis"`
	Attributes []string         `json:"attributes"`
	Records    []map[string]any `json:"records"`
}

// BuildExport builds the export of portability request r from its parts
// (the access pipeline's chunks), in registry order, at time at: purposes
// outside the scope are left out, and every record keeps only what the
// person provided (Purpose.ProvidedItem).
func BuildExport(r *Request, reg Registry, ctrl Controller, parts []Chunk, at time.Time) (*Export, error) {
	byPurpose := map[string][]Chunk{}
	for _, c := range parts {
		if c.RequestID != r.ID {
			return nil, fmt.Errorf("build export: part of another request")
		}
		if _, ok := reg.Lookup(c.Purpose); !ok {
			return nil, fmt.Errorf("build export: part of unknown purpose %q", c.Purpose)
		}
		byPurpose[c.Purpose] = append(byPurpose[c.Purpose], c)
	}
	l := r.Language
	if l == "" {
		l = LangEN
	}
	exp := &Export{Schema: ExportSchemaID, RequestID: r.ID, Controller: ctrl.Name, GeneratedAt: at.UTC(), Purposes: []ExportedPurpose{}}
	for _, p := range reg {
		if !p.InPortabilityScope() {
			continue
		}
		ep := ExportedPurpose{Purpose: p.Name, Title: p.Title.In(l), LegalBasis: p.Basis(), Attributes: p.Provided, Records: []map[string]any{}}
		for _, c := range byPurpose[p.Name] {
			for _, rec := range c.Records {
				ep.Records = append(ep.Records, p.ProvidedItem(rec.Item))
			}
		}
		exp.Purposes = append(exp.Purposes, ep)
	}
	return exp, nil
}

// JSON is the export as its JSON document.
func (e *Export) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("export as JSON: %w", err)
	}
	return b, nil
}

// Zip is the export as CSV files, one per purpose (<purpose>.csv: a header
// of its attributes, a row per record), in a zip archive whose entries are
// dated the export's time, so that the same export gives the same bytes.
func (e *Export) Zip() ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range e.Purposes {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: p.Purpose + ".csv", Method: zip.Deflate, Modified: e.GeneratedAt})
		if err != nil {
			return nil, fmt.Errorf("export as CSV: %w", err)
		}
		if err := writeCSV(w, p); err != nil {
			return nil, fmt.Errorf("export as CSV: %s: %w", p.Purpose, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("export as CSV: %w", err)
	}
	return buf.Bytes(), nil
}

// writeCSV writes purpose p as CSV: its attributes, then one row per record,
// an attribute the record lacks empty.
func writeCSV(w interface{ Write([]byte) (int, error) }, p ExportedPurpose) error {
	cw := csv.NewWriter(w)
	header := make([]string, len(p.Attributes))
	for i, a := range p.Attributes {
		header[i] = CSVCell(a)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, rec := range p.Records {
		row := make([]string, len(p.Attributes))
		for i, a := range p.Attributes {
			if v, ok := rec[a]; ok {
				row[i] = CSVCell(cellText(v))
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cellText is value v of a stored item as a CSV cell's text: a string as
// it is, a number or boolean as written in JSON, anything else (a list, a
// map) as its JSON.
func cellText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// CSVCell is s as a CSV cell that a spreadsheet does not run as a formula
// (CSV injection): a cell beginning with =, +, -, @, a tab or a carriage
// return is prefixed with an apostrophe.
func CSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

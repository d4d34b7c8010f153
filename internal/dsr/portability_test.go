package dsr_test

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dsr/dsrtest"
)

// TestPortabilityScope: Art. 20 applies to a purpose the registry marks
// portable whose basis is consent or a contract, and to no other.
func TestPortabilityScope(t *testing.T) {
	tests := []struct {
		basis    string
		portable bool
		want     bool
	}{
		{"consent (Art. 6(1)(a))", true, true},
		{"contract", true, true},
		{"performance of a contract (Art. 6(1)(b))", true, true},
		{"consent", false, false},
		{"legal obligation (Art. 6(1)(c))", true, false},
		{"legitimate interests (Art. 6(1)(f))", true, false},
		{"public task", true, false},
		{"whatever the CRM says", true, false}, // unknown basis: the strict reading
	}
	for _, tc := range tests {
		p := dsr.Purpose{LegalBasis: tc.basis, Portable: tc.portable, Provided: []string{"email"}}
		if got := p.InPortabilityScope(); got != tc.want {
			t.Errorf("%q, portable %v: in scope %v, want %v", tc.basis, tc.portable, got, tc.want)
		}
	}
}

// TestProvidedItem: an exported record keeps only the attributes the
// person provided; a purpose out of scope exports nothing.
func TestProvidedItem(t *testing.T) {
	item := map[string]any{"email": "ada@example.com", "name": "Ada", "segment": "loyal", "dsrSubjectKey": "k", "contactId": "c1"}
	tests := []struct {
		name string
		p    dsr.Purpose
		want map[string]any
	}{
		{"provided only", dsr.Purpose{LegalBasis: "consent", Portable: true, Provided: []string{"email", "name"}},
			map[string]any{"email": "ada@example.com", "name": "Ada"}},
		{"a provided attribute the record lacks", dsr.Purpose{LegalBasis: "contract", Portable: true, Provided: []string{"email", "phone"}},
			map[string]any{"email": "ada@example.com"}},
		{"not portable", dsr.Purpose{LegalBasis: "consent", Provided: []string{"email"}}, nil},
		{"legitimate interests", dsr.Purpose{LegalBasis: "legitimate interests", Portable: true, Provided: []string{"email"}}, nil},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, tc.p.ProvidedItem(item)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestParseRegistryPortability: portable only with consent or a contract
// and with provided attributes, each a labelled attribute, once, never the
// subject key; provided only with portable.
func TestParseRegistryPortability(t *testing.T) {
	base := "- purpose: p\n  table: t\n  subjectIndex: i\n  identifier: email\n  subjectKeyAttribute: sk\n  title: {de: t, en: t}\n  description: {de: d, en: d}\n  categories: {de: [c], en: [c]}\n  automatedDecisions: none\n  legalBasis: consent\n  retention: {de: r, en: r}\n  erasure: delete\n  objection: delete\n  labels:\n    email: {de: E-Mail, en: e-mail}\n    segment: {de: Segment, en: segment}\n    sk: {de: Schlüssel, en: key}\n"
	tests := []struct {
		name, extra, basis string
		ok                 bool
	}{
		{"portable with provided", "  portable: true\n  provided: [email]\n", "", true},
		{"contract", "  portable: true\n  provided: [email, segment]\n", "contract", true},
		{"not portable", "", "", true},
		{"portable, legal obligation", "  portable: true\n  provided: [email]\n", "legal obligation", false},
		{"portable, legitimate interests", "  portable: true\n  provided: [email]\n", "legitimate interests (Art. 6(1)(f))", false},
		{"portable without provided", "  portable: true\n", "", false},
		{"provided without portable", "  provided: [email]\n", "", false},
		{"unlabelled attribute", "  portable: true\n  provided: [email, phone]\n", "", false},
		{"twice", "  portable: true\n  provided: [email, email]\n", "", false},
		{"subject key", "  portable: true\n  provided: [sk]\n", "", false},
		{"typo in the key", "  portable: true\n  provide: [email]\n", "", false},
	}
	for _, tc := range tests {
		in := base + tc.extra
		if tc.basis != "" {
			in = strings.Replace(in, "legalBasis: consent", "legalBasis: "+tc.basis, 1)
		}
		_, err := dsr.ParseRegistry([]byte(in))
		if (err == nil) != tc.ok {
			t.Errorf("%s: error %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// TestTemplatePortability: in the demo, newsletter and marketing are
// portable with what the person provided; marketing's segment is not, nor
// customer care (legitimate interests) or billing (legal obligation).
func TestTemplatePortability(t *testing.T) {
	reg := templateRegistry(t)
	if diff := cmp.Diff([]string{"marketing", "newsletter"}, reg.Portable()); diff != "" {
		t.Errorf("portable (-want +got):\n%s", diff)
	}
	m, _ := reg.Lookup("marketing")
	if got := m.ProvidedItem(map[string]any{"email": "a@b.co", "segment": "loyal"}); !cmp.Equal(got, map[string]any{"email": "a@b.co"}) {
		t.Errorf("marketing exports %v", got)
	}
}

// TestParseReceiver: a receiving endpoint is an https URL of a public host
// name; loopback http only where the deployment allows it.
func TestParseReceiver(t *testing.T) {
	local := dsr.ReceiverPolicy{LoopbackHTTP: true}
	tests := []struct {
		name, in string
		pol      dsr.ReceiverPolicy
		want     string // the URL; "" refused
		reason   string
	}{
		{"https", "https://receiver.example/inbox", dsr.ReceiverPolicy{}, "https://receiver.example/inbox", ""},
		{"port and query", "https://receiver.example:8443/in?x=1", dsr.ReceiverPolicy{}, "https://receiver.example:8443/in?x=1", ""},
		{"http", "http://receiver.example/inbox", dsr.ReceiverPolicy{}, "", "must be an https URL"},
		{"ftp", "ftp://receiver.example/inbox", dsr.ReceiverPolicy{}, "", "must be an https URL"},
		{"relative", "/inbox", dsr.ReceiverPolicy{}, "", "must be an absolute https URL"},
		{"no host", "https:///inbox", dsr.ReceiverPolicy{}, "", "must be an absolute https URL"},
		{"opaque", "https:receiver.example", dsr.ReceiverPolicy{}, "", "must be an absolute https URL"},
		{"IPv4", "https://10.0.0.1/inbox", dsr.ReceiverPolicy{}, "", "must name a host, not an IP address"},
		{"IPv6", "https://[2001:db8::1]/inbox", dsr.ReceiverPolicy{}, "", "must name a host, not an IP address"},
		{"metadata", "https://169.254.169.254/latest", dsr.ReceiverPolicy{}, "", "must name a host, not an IP address"},
		{"localhost", "https://localhost/inbox", dsr.ReceiverPolicy{}, "", "must not name localhost"},
		{"sub.localhost", "https://a.localhost/inbox", dsr.ReceiverPolicy{}, "", "must not name localhost"},
		{"single label", "https://intranet/inbox", dsr.ReceiverPolicy{}, "", "must name a fully qualified host name"},
		{"credentials", "https://user:pw@receiver.example/inbox", dsr.ReceiverPolicy{}, "", "must not hold user credentials"},
		{"fragment", "https://receiver.example/inbox#x", dsr.ReceiverPolicy{}, "", "must not have a fragment"},
		{"empty fragment", "https://receiver.example/inbox#", dsr.ReceiverPolicy{}, "", "must not have a fragment"},
		{"unicode host", "https://empfänger.example/inbox", dsr.ReceiverPolicy{}, "", "must name a valid host name (IDN in A-label form)"},
		{"underscore", "https://a_b.example/inbox", dsr.ReceiverPolicy{}, "", "must name a valid host name (IDN in A-label form)"},
		{"too long", "https://receiver.example/" + strings.Repeat("a", dsr.MaxReceiverLength), dsr.ReceiverPolicy{}, "", "is longer than 2048 characters"},
		{"loopback, not allowed", "http://127.0.0.1:8080/in", dsr.ReceiverPolicy{}, "", "must be an https URL"},
		{"loopback https, not allowed", "https://127.0.0.1:8080/in", dsr.ReceiverPolicy{}, "", "must name a host, not an IP address"},
		{"loopback, allowed", "http://127.0.0.1:8080/in", local, "http://127.0.0.1:8080/in", ""},
		{"IPv6 loopback, allowed", "http://[::1]:8080/in", local, "http://[::1]:8080/in", ""},
		{"loopback without port", "http://127.0.0.1/in", local, "", "must be an https URL"},
		{"other private address, loopback allowed", "http://10.0.0.1:80/in", local, "", "must be an https URL"},
		{"http host name, loopback allowed", "http://receiver.example/in", local, "", "must be an https URL"},
		{"loopback credentials, allowed", "http://u:p@127.0.0.1:8080/in", local, "", "must not hold user credentials"},
	}
	for _, tc := range tests {
		got, reason := dsr.ParseReceiver(tc.in, tc.pol)
		if got != tc.want || reason != tc.reason {
			t.Errorf("%s: got %q, %q; want %q, %q", tc.name, got, reason, tc.want, tc.reason)
		}
	}
}

// receiverReasons are every reason ParseReceiver gives: fixed texts.
var receiverReasons = map[string]bool{
	"is longer than 2048 characters": true, "must be an absolute https URL": true, "must not hold user credentials": true,
	"must not have a fragment": true, "must be an https URL": true, "must name a host, not an IP address": true,
	"must not name localhost": true, "must name a fully qualified host name": true,
	"must name a valid host name (IDN in A-label form)": true, "must have a valid port": true,
}

// FuzzParseReceiver: an accepted endpoint is an https URL (or loopback
// http where allowed) without credentials or fragment, and a refusal never
// echoes the value.
func FuzzParseReceiver(f *testing.F) {
	for _, s := range []string{"https://receiver.example/inbox", "http://127.0.0.1:1/x", "https://[::1]/", "https://u@h.example", "https://a.b#c", "%"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, loopback bool) {
		got, reason := dsr.ParseReceiver(raw, dsr.ReceiverPolicy{LoopbackHTTP: loopback})
		if (got == "") == (reason == "") {
			t.Fatalf("%q: got %q and reason %q", raw, got, reason)
		}
		if reason != "" {
			if !receiverReasons[reason] {
				t.Fatalf("reason %q is not one of the fixed reasons: it may echo the value", reason)
			}
			return
		}
		if !strings.HasPrefix(got, "https://") && !(loopback && strings.HasPrefix(got, "http://")) {
			t.Fatalf("%q accepted as %q", raw, got)
		}
		if u, err := url.Parse(got); err != nil || u.User != nil || u.Fragment != "" || u.Host == "" {
			t.Fatalf("%q accepted as %q: credentials, fragment or no host", raw, got)
		}
		if again, r := dsr.ParseReceiver(got, dsr.ReceiverPolicy{LoopbackHTTP: loopback}); again != got || r != "" {
			t.Fatalf("%q: not stable: %q, %q", got, again, r)
		}
	})
}

// TestParseSubmissionPortability: a portability request takes a format and
// an endpoint, each checked; other types take neither.
func TestParseSubmissionPortability(t *testing.T) {
	reg := dsrtest.Registry(t)
	s := func(v string) *string { return &v }
	tests := []struct {
		name   string
		in     dsr.SubmissionInput
		pol    dsr.ReceiverPolicy
		want   dsr.Submission
		fields []string
	}{
		{"defaults", dsr.SubmissionInput{Type: s("portability"), Email: s("ada@example.com")}, dsr.ReceiverPolicy{},
			dsr.Submission{Type: dsr.TypePortability, Email: "ada@example.com", Format: "json"}, nil},
		{"csv, transmitted", dsr.SubmissionInput{Type: s("portability"), Email: s("ada@example.com"), Format: s("csv"), TransmitTo: s("https://receiver.example/inbox")}, dsr.ReceiverPolicy{},
			dsr.Submission{Type: dsr.TypePortability, Email: "ada@example.com", Format: "csv", TransmitTo: "https://receiver.example/inbox"}, nil},
		{"loopback allowed", dsr.SubmissionInput{Type: s("portability"), Email: s("ada@example.com"), TransmitTo: s("http://127.0.0.1:9/x")}, dsr.ReceiverPolicy{LoopbackHTTP: true},
			dsr.Submission{Type: dsr.TypePortability, Email: "ada@example.com", Format: "json", TransmitTo: "http://127.0.0.1:9/x"}, nil},
		{"loopback refused", dsr.SubmissionInput{Type: s("portability"), Email: s("ada@example.com"), TransmitTo: s("http://127.0.0.1:9/x")}, dsr.ReceiverPolicy{},
			dsr.Submission{}, []string{"transmitTo"}},
		{"bad format", dsr.SubmissionInput{Type: s("portability"), Email: s("ada@example.com"), Format: s("xml")}, dsr.ReceiverPolicy{},
			dsr.Submission{}, []string{"format"}},
		{"scope", dsr.SubmissionInput{Type: s("portability"), Email: s("ada@example.com"), Scope: s("direct_marketing")}, dsr.ReceiverPolicy{},
			dsr.Submission{}, []string{"scope"}},
		{"format for access", dsr.SubmissionInput{Type: s("access"), Email: s("ada@example.com"), Format: s("json"), TransmitTo: s("https://r.example/")}, dsr.ReceiverPolicy{},
			dsr.Submission{}, []string{"format", "transmitTo"}},
	}
	for _, tc := range tests {
		got, err := dsr.ParseSubmissionFor(tc.in, reg, tc.pol)
		if tc.fields == nil {
			if err != nil || !cmp.Equal(got, tc.want) {
				t.Errorf("%s: %+v, %v", tc.name, got, err)
			}
			continue
		}
		var fields []string
		if e, ok := err.(*dsr.Error); ok {
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
		}
		if !cmp.Equal(fields, tc.fields) {
			t.Errorf("%s: fields %v, want %v (%v)", tc.name, fields, tc.fields, err)
		}
	}
	// A registry without a portable purpose takes no portability request.
	var none dsr.Registry
	for _, p := range reg {
		p.Portable, p.Provided = false, nil
		none = append(none, p)
	}
	if _, err := dsr.ParseSubmission(dsr.SubmissionInput{Type: s("portability"), Email: s("ada@example.com")}, none); err == nil {
		t.Error("portability accepted without a portable purpose")
	}
}

// TestCSVCell: a cell a spreadsheet would run as a formula is prefixed.
func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"Ada": "Ada", "": "", "=1+1": "'=1+1", "+49 30 1234": "'+49 30 1234", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)",
		"\tx": "'\tx", "\rx": "'\rx", "a=b": "a=b", "'quoted": "'quoted", "=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
	} {
		if got := dsr.CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// exportFixture is an export of ada's demo records: marketing with a
// segment (left out) and a formula in her name, newsletter, billing (out of
// scope).
func exportFixture(t *testing.T) *dsr.Export {
	t.Helper()
	reg := templateRegistry(t)
	r := &dsr.Request{ID: "01JDPORTABILITY00000000000", Type: dsr.TypePortability, Language: dsr.LangDE}
	parts := []dsr.Chunk{
		{RequestID: r.ID, Purpose: "marketing", Records: []dsr.Record{{Item: map[string]any{"contactId": "m1", "email": "ada@example.com", "name": "=cmd|' /C calc'!A0", "emailConsentAt": "2024-05-01", "postWithdrawnAt": "+2025-01-01", "segment": "loyal", "dsrSubjectKey": "k"}}}},
		{RequestID: r.ID, Purpose: "newsletter", Records: []dsr.Record{{Item: map[string]any{"email": "ada@example.com", "frequency": json.Number("4"), "doubleOptIn": true}}}},
		{RequestID: r.ID, Purpose: "billing", Records: []dsr.Record{{Item: map[string]any{"customerEmail": "ada@example.com", "invoiceNumber": "R-1"}}}},
	}
	exp, err := dsr.BuildExport(r, reg, dsr.Controller{Name: "Example Shop GmbH"}, parts, time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

// TestBuildExport: the scope's purposes, in registry order, with only the
// attributes provided.
func TestBuildExport(t *testing.T) {
	exp := exportFixture(t)
	var got []string
	for _, p := range exp.Purposes {
		got = append(got, p.Purpose)
		for _, rec := range p.Records {
			if _, ok := rec["segment"]; ok {
				t.Errorf("%s: the derived segment is exported", p.Purpose)
			}
		}
	}
	if !cmp.Equal(got, []string{"marketing", "newsletter"}) || exp.Purposes[0].Title != "Werbung" || exp.Purposes[1].LegalBasis != dsr.BasisConsent {
		t.Errorf("purposes %v: %+v", got, exp.Purposes)
	}
	want := map[string]any{"email": "ada@example.com", "frequency": json.Number("4")}
	if diff := cmp.Diff(want, exp.Purposes[1].Records[0]); diff != "" {
		t.Errorf("newsletter record (-want +got):\n%s", diff)
	}
	if _, err := dsr.BuildExport(&dsr.Request{ID: "other"}, templateRegistry(t), dsr.Controller{}, []dsr.Chunk{{RequestID: "x", Purpose: "marketing"}}, time.Now()); err == nil {
		t.Error("a part of another request was exported")
	}
}

// TestExportZip: one CSV file per purpose, the provided attributes as the
// header, formulas neutralized, and the same bytes for the same export.
func TestExportZip(t *testing.T) {
	exp := exportFixture(t)
	b, err := exp.Zip()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := exp.Zip()
	if !bytes.Equal(b, again) {
		t.Error("the same export zipped twice differs")
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][][]string{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		rows, err := csv.NewReader(rc).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		files[f.Name] = rows
	}
	want := map[string][][]string{
		"marketing.csv": {{"email", "name", "emailConsentAt", "emailWithdrawnAt", "postConsentAt", "postWithdrawnAt"},
			{"ada@example.com", "'=cmd|' /C calc'!A0", "2024-05-01", "", "", "'+2025-01-01"}},
		"newsletter.csv": {{"email", "name", "subscribedAt", "frequency"}, {"ada@example.com", "", "", "4"}},
	}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("CSV files (-want +got):\n%s", diff)
	}
}

// TestExportMatchesSchema: the export validates against the published
// schema (docs/portability.schema.json, draft 2020-12, formats asserted),
// names it as its $schema, and the schema refuses what it must.
func TestExportMatchesSchema(t *testing.T) {
	sch := compileExportSchema(t)
	exp := exportFixture(t)
	exp.RequestID = "01JDPQRSTVWXYZ0123456789AB"
	body, err := exp.JSON()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("the export does not match its schema: %v", err)
	}
	for name, bad := range map[string]string{
		"legitimate interests": strings.Replace(string(body), `"legalBasis": "consent"`, `"legalBasis": "legitimate_interests"`, 1),
		"unknown field":        strings.Replace(string(body), `"controller"`, `"colour": "red", "controller"`, 1),
		"bad time":             strings.Replace(string(body), `"2026-12-02T18:00:00Z"`, `"yesterday"`, 1),
		"other schema":         strings.Replace(string(body), dsr.ExportSchemaID, "https://other.example/s.json", 1),
	} {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(doc) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// compileExportSchema compiles docs/portability.schema.json, checking that
// its $id is the one exports name.
func compileExportSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("../../docs/portability.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, _ := io.ReadAll(f)
	var head struct {
		ID     string `json:"$id"`
		Schema string `json:"$schema"`
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.ID != dsr.ExportSchemaID || head.Schema != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("schema head %+v, %v", head, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(dsr.ExportSchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(dsr.ExportSchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// TestReplayOfPortability: a retried portability submission (the same
// idempotency key) finds its request only with the same format and
// endpoint; other types derive as before.
func TestReplayOfPortability(t *testing.T) {
	h, err := dsr.NewHasher([]byte("test pepper, long enough to use"))
	if err != nil {
		t.Fatal(err)
	}
	sub := dsr.Submission{Type: dsr.TypePortability, Email: "ada@example.com", Format: "json", TransmitTo: "https://receiver.example/inbox"}
	first := h.Replay("key-0123456789abcdef", "198.51.100.7", sub)
	if again := h.Replay("key-0123456789abcdef", "198.51.100.7", sub); again.Token != first.Token {
		t.Error("the same submission derives another token")
	}
	for name, change := range map[string]func(*dsr.Submission){
		"endpoint": func(s *dsr.Submission) { s.TransmitTo = "https://other.example/inbox" },
		"format":   func(s *dsr.Submission) { s.Format = "csv" },
	} {
		other := sub
		change(&other)
		if h.Replay("key-0123456789abcdef", "198.51.100.7", other).Token == first.Token {
			t.Errorf("another %s derives the same token", name)
		}
	}
}

// TestPlanPortability: a portability request acts on the purposes in its
// scope only; a registry without one cannot plan it.
func TestPlanPortability(t *testing.T) {
	r := &dsr.Request{ID: "01J", Type: dsr.TypePortability}
	if plan, err := dsr.Plan(r, templateRegistry(t)); err != nil || !cmp.Equal(plan, []string{"marketing", "newsletter"}) {
		t.Errorf("plan %v, %v", plan, err)
	}
	if _, err := dsr.Plan(r, dsr.Registry{{Name: "billing", LegalBasis: "legal obligation"}}); err == nil {
		t.Error("planned without a portable purpose")
	}
}

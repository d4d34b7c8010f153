package dsr

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// TypePortability asks for the data the person provided, in a structured,
// commonly used and machine-readable format, optionally sent straight to
// another controller (Art. 20).
const TypePortability Type = "portability"

// Export formats a portability request may ask for: the JSON export (of
// docs/portability.schema.json) or CSV files, one per purpose, zipped.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
)

// The documents of a portability request: both formats are written, the
// request's format is the one its view links to.
const (
	DocExportJSON Document = "export.json"
	DocExportZip  Document = "export.zip"
)

// ExportDocument is the export document in format ("json" or "csv").
func ExportDocument(format string) (Document, bool) {
	switch format {
	case FormatJSON:
		return DocExportJSON, true
	case FormatCSV:
		return DocExportZip, true
	}
	return "", false
}

// AuditTransmitted records the outcome of the direct transmission of an
// export to another controller (Art. 20(2)): delivered or failed.
const AuditTransmitted AuditAction = "export_transmitted"

// InPortabilityScope reports whether Art. 20 applies to p's records: its
// processing rests on consent or a contract (Art. 20(1)(a)) and the registry
// marks it portable (processed by automated means, its data provided by the
// person). A purpose whose basis the registry does not name is out.
func (p Purpose) InPortabilityScope() bool {
	b := p.Basis()
	return p.Portable && (b == BasisConsent || b == BasisContract)
}

// Portable returns the names of the purposes in the portability scope, in
// registry order.
func (r Registry) Portable() []string {
	var out []string
	for _, p := range r {
		if p.InPortabilityScope() {
			out = append(out, p.Name)
		}
	}
	return out
}

// ProvidedItem is the part of a stored item the person provided: the
// attributes of Provided it has, nothing derived (a segment), nothing of the
// pipeline's own (the subject key); nil for a purpose out of scope.
func (p Purpose) ProvidedItem(item map[string]any) map[string]any {
	if !p.InPortabilityScope() {
		return nil
	}
	out := map[string]any{}
	for _, a := range p.Provided {
		if v, ok := item[a]; ok {
			out[a] = v
		}
	}
	return out
}

// checkPortable checks Portable and Provided: a portable purpose rests on
// consent or a contract and names the attributes the person provided, each
// once, each a labelled attribute of the purpose, never its subject key;
// Provided applies only to a portable purpose.
func (p Purpose) checkPortable() error {
	switch b := p.Basis(); {
	case p.Portable && b != BasisConsent && b != BasisContract:
		return fmt.Errorf("portable applies only to a purpose based on consent or a contract (Art. 20(1)(a)); its legalBasis reads as %q", b)
	case p.Portable && len(p.Provided) == 0:
		return errors.New("a portable purpose needs provided: the attributes the person provided (Art. 20(1))")
	case !p.Portable && len(p.Provided) > 0:
		return errors.New("provided applies only to a portable purpose (portable: true)")
	}
	seen := map[string]bool{}
	for _, a := range p.Provided {
		_, labelled := p.Labels[a]
		switch {
		case seen[a]:
			return fmt.Errorf("provided: %q is named twice", a)
		case a == p.SubjectKeyAttribute:
			return fmt.Errorf("provided: the subject key %q is the pipeline's, not provided by the person", a)
		case !labelled:
			return fmt.Errorf("provided: %q is not an attribute of the purpose's labels", a)
		}
		seen[a] = true
	}
	return nil
}

// MaxReceiverLength is the longest transmitTo accepted, in bytes.
const MaxReceiverLength = 2048

// ReceiverPolicy says which receiving endpoints a deployment accepts for the
// direct transmission of an export. By default only https URLs naming a
// public host name; LoopbackHTTP also accepts http://127.0.0.1:<port> and
// http://[::1]:<port>, for the local stack and its tests, never deployed.
type ReceiverPolicy struct {
	LoopbackHTTP bool
}

var hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ParseReceiver validates the endpoint a person names for the transmission
// of their export (Art. 20(2)) and returns it as a URL string; on failure
// the reason, which never echoes the value. An endpoint is an https URL of
// a host name (no IP literal, no localhost, no credentials, no fragment),
// except the loopback URLs pol allows.
func ParseReceiver(raw string, pol ReceiverPolicy) (string, string) {
	if len(raw) > MaxReceiverLength {
		return "", fmt.Sprintf("is longer than %d characters", MaxReceiverLength)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "":
		return "", "must be an absolute https URL"
	case u.User != nil:
		return "", "must not hold user credentials"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", "must not have a fragment"
	}
	if pol.LoopbackHTTP && u.Scheme == "http" && loopbackHost(u) {
		return u.String(), ""
	}
	if u.Scheme != "https" {
		return "", "must be an https URL"
	}
	if reason := publicHostName(u); reason != "" {
		return "", reason
	}
	return u.String(), ""
}

// loopbackHost reports whether u names 127.0.0.1 or ::1 with a port.
func loopbackHost(u *url.URL) bool {
	a, err := netip.ParseAddr(u.Hostname())
	return err == nil && (a == netip.MustParseAddr("127.0.0.1") || a == netip.IPv6Loopback()) && u.Port() != ""
}

// publicHostName is why u's host is not a public DNS name, "" if it is: two
// labels at least, in A-label form, neither an IP literal nor localhost.
func publicHostName(u *url.URL) string {
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err == nil || strings.HasPrefix(u.Host, "[") {
		return "must name a host, not an IP address"
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return "must not name localhost"
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return "must name a fully qualified host name"
	}
	for _, l := range labels {
		if !hostLabel.MatchString(l) {
			return "must name a valid host name (IDN in A-label form)"
		}
	}
	if p := u.Port(); p != "" && (strings.TrimLeft(p, "0123456789") != "" || p == "0") {
		return "must have a valid port"
	}
	return ""
}

// portabilityOf is the format and the receiving endpoint of a portability
// submission, adding what is wrong with them to bad; for another type, it
// adds those given.
func portabilityOf(in SubmissionInput, t Type, reg Registry, pol ReceiverPolicy, bad *fieldErrors) (format, transmitTo string) {
	if t != TypePortability {
		for name, set := range map[string]bool{"format": in.Format != nil, "transmitTo": in.TransmitTo != nil} {
			if set && t != "" {
				bad.add(name, "is only allowed for portability requests")
			}
		}
		return "", ""
	}
	if len(reg.Portable()) == 0 {
		bad.add("type", "no purpose of the registry is portable")
	}
	format = FormatJSON
	if in.Format != nil {
		if _, ok := ExportDocument(*in.Format); !ok {
			bad.add("format", `must be "json" or "csv"`)
		}
		format = *in.Format
	}
	if in.TransmitTo != nil {
		u, reason := ParseReceiver(*in.TransmitTo, pol)
		if reason != "" {
			bad.add("transmitTo", reason)
		}
		transmitTo = u
	}
	return format, transmitTo
}

// Transmission outcomes.
const (
	TransmissionDelivered = "delivered"
	TransmissionFailed    = "failed"
)

// Transmission is the outcome of sending a portability export to the
// endpoint the person named (Art. 20(2)): delivered (a 2xx answer) or
// failed (after every attempt), when, the last HTTP status (0: none
// answered) and how many attempts it took. A failed transmission loses
// nothing: the export stays to be downloaded.
type Transmission struct {
	Status     string    `json:"status"`
	At         time.Time `json:"at"`
	HTTPStatus int       `json:"httpStatus,omitempty"`
	Attempts   int       `json:"attempts"`
}

// TransmittedDetail is the detail of the audit step that records t: the
// outcome, never the endpoint.
func TransmittedDetail(t Transmission) string {
	d := fmt.Sprintf("export %s to the receiving controller the person named (Art. 20(2)) after %d attempt(s)", t.Status, t.Attempts)
	if t.HTTPStatus != 0 {
		d += fmt.Sprintf(", HTTP %d", t.HTTPStatus)
	}
	return d
}

// exportResult is the result of completed portability request r as its
// subject sees it: the export in the request's format, and the outcome of
// its transmission where one was asked for.
func exportResult(r *Request) *ViewResult {
	doc, ok := ExportDocument(r.Format)
	if !ok {
		doc = DocExportJSON
	}
	v := &ViewResult{Answer: doc}
	if r.Result != nil && r.Result.Transmission != nil {
		t := *r.Result.Transmission
		t.At = t.At.UTC()
		v.Transmission = &t
	}
	return v
}

package dynamo

import (
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// The parts of a request item that are not flat attributes: its result and
// its extensions, as stored. The domain's types carry no attribute names;
// these structs name them, and the to/from functions convert.

// resultItem is a request's result as stored (the "result" map).
type resultItem struct {
	ReportJSONKey  string          `dynamodbav:"reportJsonKey,omitempty"`
	ReportHTMLKey  string          `dynamodbav:"reportHtmlKey,omitempty"`
	CertificateKey string          `dynamodbav:"certificateKey,omitempty"`
	SupersededBy   string          `dynamodbav:"supersededBy,omitempty"`
	Recipients     []recipientItem `dynamodbav:"recipients,omitempty"`
	// Portability: the export's documents and its transmission.
	ExportJSONKey string            `dynamodbav:"exportJsonKey,omitempty"`
	ExportZipKey  string            `dynamodbav:"exportZipKey,omitempty"`
	Transmission  *transmissionItem `dynamodbav:"transmission,omitempty"`
}

// transmissionItem is a portability export's transmission as stored.
type transmissionItem struct {
	Status     string    `dynamodbav:"status"`
	At         time.Time `dynamodbav:"at"`
	HTTPStatus int       `dynamodbav:"httpStatus,omitempty"`
	Attempts   int       `dynamodbav:"attempts"`
}

// recipientItem is one recipient of a result as stored. At stays a
// time.Time: the encoder's own form of it (RFC 3339 with nanoseconds) is
// the stored one.
type recipientItem struct {
	Recipient string    `dynamodbav:"recipient"`
	Country   string    `dynamodbav:"country"`
	Safeguard string    `dynamodbav:"safeguard"`
	At        time.Time `dynamodbav:"at"`
	Purposes  []string  `dynamodbav:"purposes,omitempty"`
}

// extensionItem is one extension as stored (an element of "extensions").
type extensionItem struct {
	Months int    `dynamodbav:"months"`
	Reason string `dynamodbav:"reason"`
	By     string `dynamodbav:"by"`
	At     string `dynamodbav:"at"`
	DueAt  string `dynamodbav:"dueAt"`
}

func toResultItem(r *dsr.Result) *resultItem {
	if r == nil {
		return nil
	}
	it := &resultItem{ReportJSONKey: r.ReportJSONKey, ReportHTMLKey: r.ReportHTMLKey, CertificateKey: r.CertificateKey, SupersededBy: r.SupersededBy,
		ExportJSONKey: r.ExportJSONKey, ExportZipKey: r.ExportZipKey}
	if t := r.Transmission; t != nil {
		it.Transmission = &transmissionItem{Status: t.Status, At: t.At, HTTPStatus: t.HTTPStatus, Attempts: t.Attempts}
	}
	if r.Recipients != nil {
		it.Recipients = make([]recipientItem, len(r.Recipients))
		for i, rc := range r.Recipients {
			it.Recipients[i] = recipientItem{Recipient: rc.Recipient, Country: rc.Country, Safeguard: rc.Safeguard, At: rc.At, Purposes: rc.Purposes}
		}
	}
	return it
}

func fromResultItem(it *resultItem) *dsr.Result {
	if it == nil {
		return nil
	}
	r := &dsr.Result{ReportJSONKey: it.ReportJSONKey, ReportHTMLKey: it.ReportHTMLKey, CertificateKey: it.CertificateKey, SupersededBy: it.SupersededBy,
		ExportJSONKey: it.ExportJSONKey, ExportZipKey: it.ExportZipKey}
	if t := it.Transmission; t != nil {
		r.Transmission = &dsr.Transmission{Status: t.Status, At: t.At, HTTPStatus: t.HTTPStatus, Attempts: t.Attempts}
	}
	if it.Recipients != nil {
		r.Recipients = make([]dsr.Recipient, len(it.Recipients))
		for i, rc := range it.Recipients {
			r.Recipients[i] = dsr.Recipient{Recipient: rc.Recipient, Country: rc.Country, Safeguard: rc.Safeguard, At: rc.At, Purposes: rc.Purposes}
		}
	}
	return r
}

func toExtensionItem(e dsr.Extension) extensionItem {
	return extensionItem{Months: e.Months, Reason: e.Reason, By: e.By, At: formatTime(e.At), DueAt: formatTime(e.DueAt)}
}

func fromExtensionItem(it extensionItem) (dsr.Extension, error) {
	at, err := parseTime(it.At)
	if err != nil {
		return dsr.Extension{}, err
	}
	due, err := parseTime(it.DueAt)
	if err != nil {
		return dsr.Extension{}, err
	}
	return dsr.Extension{Months: it.Months, Reason: it.Reason, By: it.By, At: at, DueAt: due}, nil
}

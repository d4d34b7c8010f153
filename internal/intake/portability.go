package intake

import (
	"context"

	"github.com/privacyops/dsr/internal/dsr"
)

// exportLink signs a link to the export of completed portability request r
// (the report route): format json or csv (zipped CSV files), the request's
// own format where none is given.
func (s *Service) exportLink(ctx context.Context, r *dsr.Request, format string) (*Link, error) {
	if format == "" {
		format = r.Format
	}
	if format == "" {
		format = dsr.FormatJSON
	}
	doc, ok := dsr.ExportDocument(format)
	if !ok {
		return nil, dsr.Invalid("invalid query", dsr.FieldError{Field: "format", Reason: `must be "json" or "csv" for a portability request`})
	}
	if r.Superseded() {
		return nil, dsr.Errorf(dsr.EConflict, "the data was erased while this portability request was under way: it is answered by a statement of the erasure (result.certificate), not an export")
	}
	if r.Status != dsr.StatusCompleted || r.Result == nil || r.Result.ExportJSONKey == "" {
		return nil, dsr.Errorf(dsr.EConflict, "the export is not ready; the request is %s", r.Status)
	}
	return s.sign(ctx, r.ID, doc, "export", format)
}

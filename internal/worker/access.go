package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// access carries out purpose p of access request r from task t: each page
// of the subject's records is kept as a chunk (a redelivery writes the same
// chunks again), then the purpose is recorded as done, and the last purpose
// done writes the report.
func (h *Handler) access(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose, t dsr.TaskMessage) error {
	if _, done := r.DoneParts[p.Name]; done {
		// Redelivered: the part is recorded; finish the report if the
		// worker that recorded the last part did not.
		log.InfoContext(ctx, "redelivered task; part already recorded")
		return h.report(ctx, r)
	}
	index := t.Chunk
	rest, err := h.walk(ctx, t.Cursor, func(cursor string) (string, error) {
		records, next, err := h.Contacts.FindPage(ctx, p, r.Subject(), cursor)
		if err != nil {
			return "", err
		}
		if err := h.Objects.PutChunk(ctx, dsr.Chunk{RequestID: r.ID, Purpose: p.Name, Index: index, Records: records}); err != nil {
			return "", err
		}
		index++
		return next, nil
	})
	if err != nil {
		return err
	}
	if rest != "" {
		return h.checkpoint(ctx, log, dsr.TaskMessage{RequestID: r.ID, Purpose: p.Name, Cursor: rest, Chunk: index})
	}
	r, err = h.recordPart(ctx, log, r, p, index, " of records")
	if err != nil {
		return err
	}
	if r.AllPartsDone() && r.Status == dsr.StatusInProgress && h.nearDeadline(ctx) {
		// Assembling reads every chunk: do it in a fresh invocation, which
		// finds this part recorded and goes straight to the report.
		if err := h.Tasks.SendTask(ctx, dsr.TaskMessage{RequestID: r.ID, Purpose: p.Name}); err != nil {
			return err
		}
		log.InfoContext(ctx, "assembly continues in a new message before the deadline")
		return nil
	}
	return h.report(ctx, r)
}

// report writes the report once every part is recorded, as JSON and HTML,
// and completes the request. Documents are written create-only and the
// completion is conditional: racing or redelivered workers do it once.
func (h *Handler) report(ctx context.Context, r *dsr.Request) error {
	if r.Status != dsr.StatusInProgress || !r.AllPartsDone() {
		return nil
	}
	if r.Type == dsr.TypePortability {
		return h.export(ctx, r)
	}
	chunks, err := h.chunks(ctx, r)
	if err != nil {
		return err
	}
	// Provenance as of the request's receipt: what had expired by then is
	// not reported, and what has expired since is held for the request
	// (the retention job does not delete it while the request is open).
	// Only what was recorded by the time the last part was (r.UpdatedAt),
	// so that a redelivered assembly renders the same report, whose time is
	// that too.
	prov, err := h.provenance(ctx, r, "", r.UpdatedAt)
	if err != nil {
		return err
	}
	rep, err := dsr.AssembleReport(r, h.Registry, h.Controller, chunks, prov, r.UpdatedAt, h.Language)
	if err != nil {
		return err
	}
	res, err := h.putReport(ctx, r.ID, rep)
	if err != nil {
		return err
	}
	return h.complete(ctx, r, dsr.Changes{Result: res}, "report written (JSON and HTML)")
}

// putReport writes report rep of request id as JSON and HTML.
func (h *Handler) putReport(ctx context.Context, id string, rep *dsr.Report) (*dsr.Result, error) {
	body, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("assemble report: %w", err)
	}
	page, err := dsr.RenderHTML(rep)
	if err != nil {
		return nil, err
	}
	jsonKey, err := h.Objects.PutDocument(ctx, id, dsr.DocReportJSON, body)
	if err != nil {
		return nil, err
	}
	htmlKey, err := h.Objects.PutDocument(ctx, id, dsr.DocReportHTML, page)
	if err != nil {
		return nil, err
	}
	return &dsr.Result{ReportJSONKey: jsonKey, ReportHTMLKey: htmlKey}, nil
}

// provenance returns the provenance of r's subject for purpose (every
// purpose if ""), as of r's receipt, by purpose, leaving out events after
// until (unless zero). A request stored before subject keys existed has none.
func (h *Handler) provenance(ctx context.Context, r *dsr.Request, purpose string, until time.Time) (map[string]dsr.Provenance, error) {
	if r.SubjectKey == "" {
		return nil, nil
	}
	entries, err := h.Provenance.Subject(ctx, r.SubjectKey, purpose, r.ReceivedAt)
	if err != nil {
		return nil, err
	}
	if !until.IsZero() {
		entries = slices.DeleteFunc(entries, func(e dsr.ProvenanceEntry) bool { return e.At.After(until) })
	}
	return dsr.ProvenanceByPurpose(entries, r.ReceivedAt), nil
}

package worker

import (
	"context"
	"errors"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/sqsbatch"
)

// TransmitBudget is the time a transmission may take at most (the
// webhook sender's 3 attempts of 5 s, 1 s and 2 s apart, as awsapp
// configures it): an export left with less before the deadline, besides
// the reserve, is transmitted in a new message.
const TransmitBudget = 20 * time.Second

// Transmitter sends a portability export to the endpoint the person named
// (webhook.Sender): the outcome, delivered or failed, is a Transmission;
// an error only when the attempt was cut short (the task is delivered
// again, and the receiver deduplicates on the delivery id).
type Transmitter interface {
	Send(ctx context.Context, endpoint, delivery string, body []byte) (dsr.Transmission, error)
}

// export writes the export of portability request r once every part is
// recorded (the access pipeline's parts: portability.go of package dsr
// keeps only what the person provided), as JSON and as zipped CSV, sends
// the JSON to the endpoint the person named, if any, and completes the
// request with the outcome. Documents are written create-only and the
// completion is conditional: racing or redelivered workers do it once, and
// a redelivered transmission carries the same delivery id.
func (h *Handler) export(ctx context.Context, r *dsr.Request) error {
	chunks, err := h.chunks(ctx, r)
	if err != nil {
		return err
	}
	// The time of the last part: a redelivered assembly writes the same export.
	exp, err := dsr.BuildExport(r, h.Registry, h.Controller, chunks, r.UpdatedAt)
	if err != nil {
		return err
	}
	res, body, err := h.putExport(ctx, r.ID, exp)
	if err != nil {
		return err
	}
	var steps []dsr.Step
	if r.TransmitTo != "" && sqsbatch.NearDeadline(ctx, h.Reserve+TransmitBudget) {
		// Every attempt may take its time: transmit in a fresh invocation,
		// which finds the parts recorded and the documents written.
		if err := h.Tasks.SendTask(ctx, dsr.TaskMessage{RequestID: r.ID, Purpose: r.PlannedPurposes[0]}); err != nil {
			return err
		}
		h.Log.InfoContext(ctx, "transmission continues in a new message before the deadline", "dsrId", r.ID)
		return nil
	}
	if r.TransmitTo != "" {
		t, err := h.transmit(ctx, r, body)
		if err != nil {
			return err
		}
		res.Transmission = &t
		steps = append(steps, dsr.Step{Action: dsr.AuditTransmitted, Detail: dsr.TransmittedDetail(t)})
	}
	return h.complete(ctx, r, dsr.Changes{Result: res}, "export written (JSON and CSV)", steps...)
}

// putExport writes export exp of request id as JSON and as zipped CSV, and
// returns the result and the JSON.
func (h *Handler) putExport(ctx context.Context, id string, exp *dsr.Export) (*dsr.Result, []byte, error) {
	body, err := exp.JSON()
	if err != nil {
		return nil, nil, err
	}
	zipped, err := exp.Zip()
	if err != nil {
		return nil, nil, err
	}
	jsonKey, err := h.Objects.PutDocument(ctx, id, dsr.DocExportJSON, body)
	if err != nil {
		return nil, nil, err
	}
	zipKey, err := h.Objects.PutDocument(ctx, id, dsr.DocExportZip, zipped)
	if err != nil {
		return nil, nil, err
	}
	return &dsr.Result{ExportJSONKey: jsonKey, ExportZipKey: zipKey}, body, nil
}

// transmit sends body, the JSON export of r, to r's receiving endpoint, with
// r's id as the delivery id. The endpoint is never logged.
func (h *Handler) transmit(ctx context.Context, r *dsr.Request, body []byte) (dsr.Transmission, error) {
	if h.Transmitter == nil {
		return dsr.Transmission{}, errors.New("export of request " + r.ID + ": no transmitter configured")
	}
	t, err := h.Transmitter.Send(ctx, r.TransmitTo, r.ID, body)
	if err != nil {
		return t, err
	}
	h.Log.InfoContext(ctx, "export transmitted", "dsrId", r.ID, "transmission", t.Status, "httpStatus", t.HTTPStatus,
		"attempts", t.Attempts, "event", "export_transmitted")
	return t, nil
}

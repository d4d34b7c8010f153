package worker

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/privacyops/dsr/internal/dsr"
)

// prefer carries out purpose p of preferences request r from task t: every
// page of the subject's items gets the changes (a conditional UpdateItem
// each; the same again changes nothing, so a redelivery may repeat pages),
// then the table is read back and its outcome recorded once as the
// purpose's only chunk; the worker recording the last purpose answers.
func (h *Handler) prefer(ctx context.Context, log *slog.Logger, r *dsr.Request, p dsr.Purpose, t dsr.TaskMessage) error {
	if _, done := r.DoneParts[p.Name]; done {
		log.InfoContext(ctx, "redelivered task; part already recorded")
		return h.certifyPreferences(ctx, r)
	}
	// The request's verification time, not now: a redelivery writes the
	// same withdrawal time again.
	u := dsr.UpdateFor(r, p, r.VerifiedAt)
	changed := 0
	rest, err := h.walk(ctx, t.Cursor, func(cursor string) (string, error) {
		refs, next, err := h.Contacts.KeysPage(ctx, p, r.Subject(), cursor)
		if err != nil {
			return "", err
		}
		n, err := h.Contacts.SetPreferences(ctx, p, r.Subject(), refs, u)
		changed += n
		return next, err
	})
	switch {
	case err != nil:
		return err
	case rest != "":
		return h.checkpoint(ctx, log, dsr.TaskMessage{RequestID: r.ID, Purpose: p.Name, Cursor: rest})
	}
	out, err := h.readBackPreferences(ctx, r, p)
	if err != nil {
		return err
	}
	if out.NotHolding > 0 {
		return fmt.Errorf("preferences of request %s: %d record(s) of %s do not hold the changes; will retry", r.ID, out.NotHolding, p.Name)
	}
	c, _, err := h.Objects.PutChunkOnce(ctx, dsr.Chunk{RequestID: r.ID, Purpose: p.Name, At: h.Clock.Now(), Preferences: &out})
	if err != nil {
		return err
	}
	log.InfoContext(ctx, "preferences applied", "changed", changed, "records", c.Preferences.RecordsFound)
	detail := fmt.Sprintf("preferences applied to %d record(s), read back", c.Preferences.RecordsFound)
	if r, err = h.recordPart(ctx, log, r, p, 1, detail); err != nil {
		return err
	}
	return h.certifyPreferences(ctx, r)
}

// readBackPreferences reads every page of the subject's records of p and
// counts those that do not hold r's changes (dsr.Holds).
func (h *Handler) readBackPreferences(ctx context.Context, r *dsr.Request, p dsr.Purpose) (dsr.PreferencesOutcome, error) {
	out := dsr.PreferencesOutcome{}
	cursor := ""
	for {
		recs, next, err := h.Contacts.FindPage(ctx, p, r.Subject(), cursor)
		if err != nil {
			return out, err
		}
		for _, rec := range recs {
			out.RecordsFound++
			if !dsr.Holds(r, p, rec.Item) {
				out.NotHolding++
			}
		}
		if next == "" {
			out.ReadBackAt = h.Clock.Now()
			return out, nil
		}
		cursor = next
	}
}

// certifyPreferences writes the certificate once every purpose of r is
// done and completes the request (create-only certificate, conditional
// completion: racing or redelivered workers do it once).
func (h *Handler) certifyPreferences(ctx context.Context, r *dsr.Request) error {
	if r.Status != dsr.StatusInProgress || !r.AllPartsDone() {
		return nil
	}
	outcomes := map[string]dsr.PreferencesOutcome{}
	for _, purpose := range r.PlannedPurposes {
		c, err := h.Objects.GetChunk(ctx, r.ID, purpose, 0)
		if err != nil {
			return err
		}
		if c.Preferences != nil {
			outcomes[purpose] = *c.Preferences
		}
	}
	cert, err := dsr.AssemblePreferencesCertificate(r, outcomes, h.Controller, h.Clock.Now())
	if err != nil {
		return err
	}
	key, err := h.putJSON(ctx, r.ID, cert)
	if err != nil {
		return err
	}
	return h.complete(ctx, r, dsr.Changes{Result: &dsr.Result{CertificateKey: key}}, "certificate written")
}

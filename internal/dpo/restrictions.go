package dpo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/jsonbody"
)

// Restrictions reads a subject's records of a purpose a page at a time and
// lengthens the statutory restrictions an erasure put on them
// (dynamo.Contacts).
type Restrictions interface {
	KeysPage(ctx context.Context, p dsr.Purpose, s dsr.Subject, cursor string) ([]string, string, error)
	ExtendRestrictions(ctx context.Context, p dsr.Purpose, refs []string, requestID string, until time.Time) (int, error)
}

// ProvenanceKeeper keeps a subject's provenance entries of a purpose,
// those live at now, at least until until (dynamo.Provenance.KeepUntil),
// and says how many it moved.
type ProvenanceKeeper interface {
	KeepUntil(ctx context.Context, subjectKey, purpose string, until, now time.Time) (int, error)
}

// RestrictionRecorder records a change of an erasure's restrictions on its
// trail, once (dynamo.Requests.RecordRestriction).
type RestrictionRecorder interface {
	RecordRestriction(ctx context.Context, id, token string, now time.Time, steps ...dsr.Step) error
}

// ExtendedRestriction is the answer of POST
// /v1/dpo/requests/{id}/restrictions.
type ExtendedRestriction struct {
	RequestID string `json:"requestId"`
	Purpose   string `json:"purpose"`
	Until     string `json:"until"`
	// RecordsExtended counts the records whose end this call moved: those
	// restricted until an earlier day (a later end, or one moved by an
	// earlier call, stays as it is).
	RecordsExtended int `json:"recordsExtended"`
	// ProvenanceExtended counts the subject's provenance entries of the
	// purpose whose expiry this call moved to until, so that the sources
	// and recipients stay as long as the records (Art. 15(1)(c), (g), 19);
	// 0 when they were kept that long already.
	ProvenanceExtended int `json:"provenanceExtended"`
}

// ExtendRestriction answers POST /v1/dpo/requests/{id}/restrictions: the
// DPO keeps the records completed erasure id restricted under purpose's
// statutory duty until a later day, as a duty still runs (a tax
// assessment or audit still open). Every page of the subject's records is
// read and each restricted by this erasure until an earlier day is moved,
// with its due-list entry; the subject's provenance of the purpose that
// would expire before until is kept until then, so that its recipients
// can still be told when the records go (Art. 19) and a report still
// shows them; the step goes into the erasure's trail once per purpose and
// day (the reason, the DPO's free text, does not: it may name people).
// Repeated, it moves nothing more and records nothing more.
func (s *Service) ExtendRestriction(ctx context.Context, actor, id string, body []byte) (*ExtendedRestriction, error) {
	now := s.Clock.Now()
	x, err := jsonbody.ParseRestrictionExtension(body, s.Registry, now)
	if err != nil {
		return nil, err
	}
	r, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case r.Type != dsr.TypeErasure || r.Status != dsr.StatusCompleted:
		return nil, dsr.Errorf(dsr.EConflict, "only a completed erasure has restrictions to extend; this is a %s %s request", r.Status, r.Type)
	case !slices.Contains(r.PlannedPurposes, x.Purpose):
		return nil, dsr.Invalid("the request body is invalid", dsr.FieldError{Field: "purpose", Reason: "is not a purpose this erasure acted on"})
	case r.SubjectKey == "":
		return nil, dsr.Errorf(dsr.EConflict, "the erasure no longer identifies its subject (its identifiers were removed after the accountability retention)")
	}
	p, _ := s.Registry.Lookup(x.Purpose)
	n, err := s.extendEveryPage(ctx, r, p, x.Until)
	if err != nil {
		return nil, dsr.Unavailable(fmt.Errorf("extend restriction: %w", err))
	}
	kept, err := s.Provenance.KeepUntil(ctx, r.SubjectKey, p.Name, x.Until, now)
	if err != nil {
		return nil, dsr.Unavailable(fmt.Errorf("extend restriction: %w", err))
	}
	step := dsr.Step{Actor: actor, Action: dsr.AuditRestrictionExtended, At: now,
		Detail: fmt.Sprintf("purpose %s: statutory restriction extended until %s", x.Purpose, x.Until.Format(time.DateOnly))}
	err = s.Recorder.RecordRestriction(ctx, r.ID, dsr.RestrictionExtendedToken(x.Purpose, x.Until), now, step)
	if err != nil && dsr.ErrorCodeOf(err) != dsr.EConflict {
		return nil, err
	}
	s.Log.InfoContext(ctx, "restriction extended", "dsrId", r.ID, "actor", actor, "purpose", x.Purpose, "until", x.Until.Format(time.DateOnly),
		"records", n, "provenance", kept, "event", "restriction_extended")
	return &ExtendedRestriction{RequestID: r.ID, Purpose: x.Purpose, Until: x.Until.Format(time.DateOnly), RecordsExtended: n, ProvenanceExtended: kept}, nil
}

// extendEveryPage moves the end of erasure r's restriction of p's records
// to until, every page of its subject's records (found by the subject key,
// which a restricted record holds in place of the address).
func (s *Service) extendEveryPage(ctx context.Context, r *dsr.Request, p dsr.Purpose, until time.Time) (int, error) {
	subject, total := dsr.Subject{Key: r.SubjectKey}, 0
	for cursor := ""; ; {
		refs, next, err := s.Restrictions.KeysPage(ctx, p, subject, cursor)
		if err != nil {
			return 0, err
		}
		n, err := s.Restrictions.ExtendRestrictions(ctx, p, refs, r.ID, until)
		if err != nil {
			return 0, err
		}
		total += n
		if next == "" {
			return total, nil
		}
		cursor = next
	}
}

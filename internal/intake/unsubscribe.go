package intake

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/privacyops/dsr/internal/dsr"
)

// Unsubscribed answers a one-click unsubscribe: the preferences request it
// made. Its status token is the unsubscribe token itself.
type Unsubscribed struct {
	ID     string     `json:"id"`
	Type   dsr.Type   `json:"type"`
	Status dsr.Status `json:"status"`
}

// Unsubscribe carries out the one-click POST (RFC 8058) of token with form:
// a valid token makes a preferences request withdrawing its purpose's
// channel consent, verified by the token's signature (no code), queued
// like a verified request. The same token again finds that request and
// queues it again while it is queued (dispatch is idempotent), so a
// repeated POST changes nothing more. A forged, altered or malformed token
// is a 404 that says no more.
func (s *Service) Unsubscribe(ctx context.Context, token string, form url.Values, acceptLanguage string) (*Unsubscribed, error) {
	if v := form["List-Unsubscribe"]; len(v) != 1 || v[0] != "One-Click" {
		return nil, dsr.Invalid("the one-click unsubscribe is invalid",
			dsr.FieldError{Field: "List-Unsubscribe", Reason: `must be "One-Click" (RFC 8058)`})
	}
	now := s.Clock.Now().Truncate(1e6)
	u, err := s.Hasher.ParseUnsubscribeToken(token, s.Registry, now)
	if err != nil {
		return nil, err
	}
	id, err := ulid.New(ulid.Timestamp(u.IssuedAt), bytes.NewReader(s.Hasher.OneClickEntropy(token)))
	if err != nil {
		return nil, fmt.Errorf("unsubscribe: %w", err)
	}
	r, err := s.oneClickRequest(ctx, id.String(), token, u, acceptLanguage, now)
	if err != nil {
		return nil, err
	}
	if r.Status == dsr.StatusQueued {
		if err := s.Queue.SendRequest(ctx, dsr.RequestMessage{RequestID: r.ID}); err != nil {
			// Stored and queued, without its message: the next POST sends it.
			return nil, dsr.Unavailable(fmt.Errorf("unsubscribe: queue request: %w", err))
		}
	}
	return &Unsubscribed{ID: r.ID, Type: r.Type, Status: r.Status}, nil
}

// oneClickRequest is the request of token: as stored by an earlier POST of
// it, or made and stored now. Its status token is the unsubscribe token
// (its hash stored): the link's holder may follow the request with it, and
// a racing POST of the same token stores the same request (Store.Create
// takes a create of the same id and token hash as a retry).
func (s *Service) oneClickRequest(ctx context.Context, id, token string, u dsr.Unsubscribe, acceptLanguage string, now time.Time) (*dsr.Request, error) {
	r, err := s.Store.Get(ctx, id)
	switch {
	case err == nil:
		s.Log.InfoContext(ctx, "one-click unsubscribe repeated; answered with its request", "dsrId", r.ID, "status", r.Status, "event", "replayed")
		return r, nil
	case dsr.ErrorCodeOf(err) != dsr.ENotFound:
		return nil, fmt.Errorf("unsubscribe: %w", err)
	}
	r = dsr.OneClickRequest(id, u, dsr.NegotiateLanguage(acceptLanguage, s.Language), s.Deadline, now)
	r.TokenHash = dsr.HashToken(token)
	if err := s.Store.Create(ctx, r, dsr.OneClickSteps(r)...); err != nil {
		return nil, fmt.Errorf("unsubscribe: %w", err)
	}
	s.Log.InfoContext(ctx, "one-click unsubscribe received", "dsrId", r.ID, "purpose", u.Purpose, "channel", u.Channel, "event", "received")
	return r, nil
}

package dpo

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/jsonbody"
)

// Keys derive what a registered request is keyed by: the subject key of an
// address, and, for a registration with an idempotency key, its id and
// status token (dsr.Hasher).
type Keys interface {
	Subject(normalized string) string
	Replay(key, client string, s dsr.Submission) dsr.Replay
}

// Registered is the answer to a registration: the request as stored, and
// the status token the DPO hands the person by the channel they used (it is
// shown once; only its hash is stored).
type Registered struct {
	ID          string     `json:"id"`
	Type        dsr.Type   `json:"type"`
	Status      dsr.Status `json:"status"`
	StatusToken string     `json:"statusToken"`
	ReceivedAt  time.Time  `json:"receivedAt"`
	DueAt       time.Time  `json:"dueAt"`
}

// Register answers POST /v1/dpo/requests: a request the person made by
// another channel (letter, phone, e-mail to the privacy address, in person)
// is registered with its receipt time, channel and the DPO's identity check
// instead of the e-mail code; its deadline runs one month from the receipt
// (Art. 12(3)). It is stored queued, with its received and verified steps,
// and dispatched. With an idempotency key, a retry answers with the request
// the first call stored.
func (s *Service) Register(ctx context.Context, actor, key string, body []byte) (*Registered, error) {
	now := s.Clock.Now().Truncate(time.Millisecond)
	g, err := jsonbody.ParseRegistration(body, s.Registry, s.Deadline, now)
	if err != nil {
		return nil, err
	}
	if key, err = dsr.ParseIdempotencyKey(key); err != nil {
		return nil, err
	}
	ids, token, tokenHash, err := s.registrationSecrets(key, actor, g, now)
	if err != nil {
		return nil, err
	}
	if r, found, err := s.registered(ctx, ids, tokenHash); found || err != nil {
		return s.dispatchRegistered(ctx, r, token, err)
	}
	r := &dsr.Request{
		ID: ids[0], Type: g.Type, Status: dsr.StatusQueued, Email: g.Email, SubjectKey: s.Keys.Subject(g.Email),
		Scope: g.Scope, Purposes: g.Purposes, Grounds: g.Grounds, Ground: g.Ground, Language: cmp.Or(g.Language, s.Language), TokenHash: tokenHash,
		ReceivedAt: g.ReceivedAt, VerifiedAt: now, DueAt: s.Deadline.Due(g.ReceivedAt, 1), UpdatedAt: now, Rectification: g.Rectification(),
	}
	err = s.Store.Create(ctx, r,
		dsr.Step{Actor: actor, Action: dsr.AuditReceived, Detail: dsr.RegisteredDetail(g), At: now},
		dsr.Step{Actor: actor, Action: dsr.AuditVerified, Detail: dsr.IdentityDetail(g), At: now})
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	s.Log.InfoContext(ctx, "request registered", "dsrId", r.ID, "actor", actor, "type", r.Type, "channel", g.Channel, "event", "received")
	return s.dispatchRegistered(ctx, r, token, nil)
}

// registrationSecrets are a registration's candidate ids (the first to
// create) and its status token: random, or derived from the idempotency
// key, the DPO and the submission (dsr.Hasher.Replay), as intake does.
func (s *Service) registrationSecrets(key, actor string, g dsr.Registration, now time.Time) ([]string, string, string, error) {
	if key == "" {
		token, hash, err := dsr.NewStatusToken()
		return []string{ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String()}, token, hash, err
	}
	rp := s.Keys.Replay(key, "dpo:"+actor, g.Submission)
	var ids []string
	for _, hour := range dsr.ReplayHours(now) {
		id, err := ulid.New(ulid.Timestamp(hour), bytes.NewReader(rp.IDEntropy))
		if err != nil {
			return nil, "", "", err
		}
		ids = append(ids, id.String())
	}
	return ids, rp.Token, rp.TokenHash, nil
}

// registered finds the request an earlier call with the same key stored.
func (s *Service) registered(ctx context.Context, ids []string, tokenHash string) (*dsr.Request, bool, error) {
	for _, id := range ids {
		r, err := s.Store.Get(ctx, id)
		switch {
		case dsr.ErrorCodeOf(err) == dsr.ENotFound:
			continue
		case err != nil:
			return nil, true, fmt.Errorf("register: %w", err)
		case r.TokenHash == tokenHash:
			return r, true, nil
		}
	}
	return nil, false, nil
}

// dispatchRegistered queues registered request r (again, on a retry while
// it is queued: dispatch is idempotent) and answers with it.
func (s *Service) dispatchRegistered(ctx context.Context, r *dsr.Request, token string, err error) (*Registered, error) {
	if err != nil {
		return nil, err
	}
	if r.Status == dsr.StatusQueued {
		if err := s.Queue.SendRequest(ctx, dsr.RequestMessage{RequestID: r.ID}); err != nil {
			// Stored and queued, without its message: a retry with the same
			// key sends it.
			return nil, dsr.Unavailable(fmt.Errorf("register: queue request: %w", err))
		}
	}
	return &Registered{ID: r.ID, Type: r.Type, Status: r.Status, StatusToken: token, ReceivedAt: r.ReceivedAt.UTC(), DueAt: r.DueAt.UTC()}, nil
}

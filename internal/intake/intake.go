// Package intake serves the subject routes of the public API: submitting a
// request, verifying it with the e-mailed code, polling its status and
// fetching a short-lived link to its report.
package intake

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/httpapi"
	"github.com/privacyops/dsr/internal/jsonbody"
)

// Store keeps requests. Every change is stored with the audit steps that
// record it, at once. Transitions are conditional on the current status; a
// lost race returns an error with code dsr.EConflict.
type Store interface {
	Create(ctx context.Context, r *dsr.Request, steps ...dsr.Step) error
	Get(ctx context.Context, id string) (*dsr.Request, error)
	UseAttempt(ctx context.Context, id, attempt string, now time.Time) (*dsr.Request, error)
	Transition(ctx context.Context, id string, from, to dsr.Status, now time.Time, set dsr.Changes, steps ...dsr.Step) error
}

// Queue takes verified requests for dispatch.
type Queue interface {
	SendRequest(ctx context.Context, m dsr.RequestMessage) error
}

// Mailer sends e-mail to a person.
type Mailer interface {
	Send(ctx context.Context, m dsr.Mail) error
}

// Links signs short-lived download links to report objects.
type Links interface {
	Exists(ctx context.Context, id string, doc dsr.Document) (bool, error)
	PresignGet(ctx context.Context, id string, doc dsr.Document, ttl time.Duration) (string, error)
}

// Auditor appends steps to a request's audit trail.
type Auditor interface {
	Append(ctx context.Context, s dsr.Step) error
}

// Limiter keeps the limits' counts (dynamo.Limits): each person's quota,
// each client's token bucket, each request's links per hour, and the day's
// digest of people who reached a limit.
type Limiter interface {
	UpdateQuota(ctx context.Context, subjectKey string, now time.Time, change func(*dsr.Quota) error) error
	TakeRate(ctx context.Context, key string, r dsr.Rate, now time.Time) (time.Duration, error)
	CountWindow(ctx context.Context, key string, limit int, until time.Time) (bool, error)
	CountReached(ctx context.Context, day, limit string) error
}

// LinkTTL is how long a signed report link stays valid (docs/api.md: at most 5 minutes).
const LinkTTL = 5 * time.Minute

// Service implements the subject routes.
type Service struct {
	Store   Store
	Queue   Queue
	Mailer  Mailer
	Links   Links
	Audit   Auditor // the audit trail; nil records nothing (tests that do not look at it)
	Limiter Limiter
	Limits  dsr.Limits // what Limiter holds each person, client and request to
	// Metrics receives an EMF record each time a limit refuses (os.Stdout
	// in Lambda); nil writes none.
	Metrics  io.Writer
	Hasher   *dsr.Hasher
	Registry dsr.Registry
	Deadline dsr.DeadlinePolicy
	// Receivers says which endpoints a portability request may name for
	// the transmission of its export (only public https by default).
	Receivers dsr.ReceiverPolicy
	// Language answers a request that names none and whose Accept-Language
	// names no language of the answers (the controller's).
	Language dsr.Language
	Log      *slog.Logger
	Clock    dsr.Clock
}

// Submitted is the answer to a submission: the view plus the status token,
// shown this once.
type Submitted struct {
	ID          string     `json:"id"`
	Type        dsr.Type   `json:"type"`
	Status      dsr.Status `json:"status"`
	StatusToken string     `json:"statusToken"`
	ReceivedAt  time.Time  `json:"receivedAt"`
	DueAt       *time.Time `json:"dueAt,omitempty"`
}

// Link is a signed, short-lived download link.
type Link struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Submit validates body, stores a new request awaiting verification and
// e-mails its code. A submission with an idempotency key (docs/api.md) that
// retries an earlier one from the same client finds the request that one
// stored, and answers with it. The request is answered in the body's
// language, else the one acceptLanguage (the Accept-Language header)
// prefers, else the default.
func (s *Service) Submit(ctx context.Context, body []byte, key, client, acceptLanguage string) (*Submitted, error) {
	sub, err := jsonbody.ParseSubmissionFor(body, s.Registry, s.Receivers)
	if err != nil {
		return nil, err
	}
	if sub.Language == "" {
		sub.Language = dsr.NegotiateLanguage(acceptLanguage, s.Language)
	}
	if key, err = dsr.ParseIdempotencyKey(key); err != nil {
		return nil, err
	}
	now := s.Clock.Now().Truncate(time.Millisecond)
	sec, err := s.secrets(key, client, sub, now)
	if err != nil {
		return nil, err
	}
	if key != "" {
		if out, found, err := s.replay(ctx, sec, now); found || err != nil {
			return out, err
		}
	}
	return s.create(ctx, sub, sec, now)
}

// secrets are a new request's ids (the first is the one to create; the
// others, the ids an earlier call with the same key may have made), status
// token and code: random, or with an idempotency key derived (dsr.Replay).
type secrets struct {
	ids                    []string
	token, tokenHash, code string
}

func (s *Service) secrets(key, client string, sub dsr.Submission, now time.Time) (secrets, error) {
	if key == "" {
		token, tokenHash, err := dsr.NewStatusToken()
		if err != nil {
			return secrets{}, err
		}
		code, err := dsr.NewCode()
		if err != nil {
			return secrets{}, err
		}
		return secrets{ids: []string{ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String()}, token: token, tokenHash: tokenHash, code: code}, nil
	}
	rp := s.Hasher.Replay(key, client, sub)
	sec := secrets{token: rp.Token, tokenHash: rp.TokenHash, code: rp.Code}
	for _, hour := range dsr.ReplayHours(now) {
		id, err := ulid.New(ulid.Timestamp(hour), bytes.NewReader(rp.IDEntropy))
		if err != nil {
			return secrets{}, err
		}
		sec.ids = append(sec.ids, id.String())
	}
	return sec, nil
}

// replay finds the request an earlier call with the same idempotency key
// stored, and answers as that call did: found is false when there is none.
func (s *Service) replay(ctx context.Context, sec secrets, now time.Time) (*Submitted, bool, error) {
	for _, id := range sec.ids {
		r, err := s.Store.Get(ctx, id)
		switch {
		case dsr.ErrorCodeOf(err) == dsr.ENotFound:
			continue
		case err != nil:
			return nil, true, fmt.Errorf("submit: %w", err)
		case r.TokenHash != sec.tokenHash:
			continue
		}
		s.Log.InfoContext(ctx, "submission retried; answered with its request", "dsrId", r.ID, "status", r.Status, "event", "replayed")
		switch {
		case r.Status == dsr.StatusRejected:
			return nil, true, dsr.Errorf(dsr.EConflict, "this request was rejected")
		case r.Status == dsr.StatusExpired, r.Status == dsr.StatusAwaitingVerification && !now.Before(r.CodeExpiresAt):
			return nil, true, dsr.Errorf(dsr.EGone, "this request has expired; please submit a new one")
		case r.Status == dsr.StatusAwaitingVerification:
			// The earlier call may have stopped before its mail went out:
			// the same code again.
			if err := s.Mailer.Send(ctx, dsr.VerificationMail(r, sec.code)); err != nil {
				return nil, true, dsr.Unavailable(fmt.Errorf("send verification code: %w", err))
			}
		}
		return submitted(r, sec.token), true, nil
	}
	return nil, false, nil
}

// create stores the request of sub with sec, and e-mails its code.
func (s *Service) create(ctx context.Context, sub dsr.Submission, sec secrets, now time.Time) (*Submitted, error) {
	id := sec.ids[0]
	// The person's quota first: a code and a place among their open
	// requests, or a 429 before anything is stored or sent.
	if err := s.quota(ctx, sub.Email, now, func(q *dsr.Quota) error { return q.Admit(id, now.Add(dsr.CodeTTL), now, s.Limits) }); err != nil {
		return nil, err
	}
	r := &dsr.Request{
		ID: id, Type: sub.Type, Status: dsr.StatusAwaitingVerification, Email: sub.Email, SubjectKey: s.Hasher.Subject(sub.Email),
		Scope: sub.Scope, Purposes: sub.Purposes, Grounds: sub.Grounds, Ground: sub.Ground, Language: sub.Language,
		Rectification: sub.Rectification(), Format: sub.Format, TransmitTo: sub.TransmitTo, Preferences: sub.Changes,
		TokenHash: sec.tokenHash, CodeHash: s.Hasher.Code(id, sec.code), CodeExpiresAt: now.Add(dsr.CodeTTL),
		ReceivedAt: now, UpdatedAt: now,
	}
	if s.Deadline.Start != dsr.ClockAtVerification {
		r.DueAt = s.Deadline.Due(now, 1)
	}
	received := dsr.Step{Actor: dsr.ActorSubject, Action: dsr.AuditReceived, Detail: string(r.Type) + " request; verification code e-mailed", At: now}
	if err := s.Store.Create(ctx, r, received); err != nil {
		s.release(ctx, r, now)
		return nil, fmt.Errorf("submit: %w", err)
	}
	if err := s.Mailer.Send(ctx, dsr.VerificationMail(r, sec.code)); err != nil {
		s.endUnsent(ctx, r, now)
		return nil, dsr.Unavailable(fmt.Errorf("send verification code: %w", err))
	}
	s.Log.InfoContext(ctx, "request received", "dsrId", id, "type", r.Type, "event", "received")
	return submitted(r, sec.token), nil
}

// submitted is the answer to the submission of r, with its status token.
func submitted(r *dsr.Request, token string) *Submitted {
	out := &Submitted{ID: r.ID, Type: r.Type, Status: r.Status, StatusToken: token, ReceivedAt: r.ReceivedAt.UTC()}
	if !r.DueAt.IsZero() {
		due := r.DueAt.UTC()
		out.DueAt = &due
	}
	return out
}

// endUnsent ends request r, whose code could not be e-mailed: without it the
// request can never be verified, so it ends now rather than wait, and the
// person may submit again.
func (s *Service) endUnsent(ctx context.Context, r *dsr.Request, now time.Time) {
	s.release(ctx, r, now)
	reason := "the verification code could not be sent"
	if err := s.Store.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusExpired, now, dsr.Changes{FailureReason: reason},
		dsr.Step{Actor: dsr.SystemActor("intake"), Action: dsr.AuditExpired, Detail: reason, At: now}); err != nil {
		// The monitor expires it after 7 days, which its trail records.
		s.Log.ErrorContext(ctx, "end request after mail failure", "dsrId", r.ID, "error", err.Error())
	}
}

// authorize returns the request id if token is its status token, and the one
// not-found error otherwise.
func (s *Service) authorize(ctx context.Context, id, token string) (*dsr.Request, error) {
	if id == "" || token == "" {
		return nil, dsr.ErrNotFound
	}
	if _, err := ulid.ParseStrict(id); err != nil {
		return nil, dsr.ErrNotFound
	}
	r, err := s.Store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !dsr.TokenMatches(token, r.TokenHash) {
		return nil, dsr.ErrNotFound
	}
	return r, nil
}

// Verify checks the code of request id and, if right, queues the request.
// Each try spends one of the request's attempts before the code is compared,
// so parallel guesses each count.
func (s *Service) Verify(ctx context.Context, id, token string, body []byte) (dsr.View, error) {
	r, err := s.authorize(ctx, id, token)
	if err != nil {
		return dsr.View{}, err
	}
	code, err := jsonbody.ParseVerify(body)
	if err != nil {
		return dsr.View{}, err
	}
	now := s.Clock.Now()
	if v, done, err := s.verifiedOrEnded(r, code); done {
		return v, err
	}
	if !now.Before(r.CodeExpiresAt) {
		if err := s.expire(ctx, r, now, "the verification code expired"); err != nil {
			return dsr.View{}, err
		}
		return dsr.View{}, dsr.Errorf(dsr.EGone, "the verification code has expired; please submit a new request")
	}
	// The person's wrong-code budget is spent before the code is compared
	// (a right code gives it back), so parallel guesses each count, across
	// all the person's requests; then the request's own attempt.
	budget := 0
	if err := s.quota(ctx, r.Email, now, func(q *dsr.Quota) error {
		err := q.Guess(now, s.Limits)
		budget = s.Limits.WrongCodesPerDay - q.Wrong
		return err
	}); err != nil {
		return dsr.View{}, err
	}
	// Each call is one attempt, counted once however often the store's
	// client retries the count.
	attempt := ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String()
	used, err := s.Store.UseAttempt(ctx, id, attempt, now)
	if err != nil {
		s.giveBack(ctx, r, now, false) // not compared
		return s.noAttempt(ctx, r, code, now, err)
	}
	if !s.Hasher.CodeMatches(id, code, r.CodeHash) {
		return dsr.View{}, s.wrongCode(ctx, r, used.CodeAttempts, budget, now)
	}
	return s.queue(ctx, r, code, now)
}

// noAttempt answers a verification whose attempt could not be spent (err):
// the request has none left, or another try moved it on.
func (s *Service) noAttempt(ctx context.Context, r *dsr.Request, code string, now time.Time, err error) (dsr.View, error) {
	if dsr.ErrorCodeOf(err) != dsr.EConflict {
		return dsr.View{}, fmt.Errorf("verify: %w", err)
	}
	if r, err = s.Store.Get(ctx, r.ID); err != nil {
		return dsr.View{}, fmt.Errorf("verify: %w", err)
	}
	if v, done, err := s.verifiedOrEnded(r, code); done {
		return v, err
	}
	if err := s.expire(ctx, r, now, "too many wrong verification codes"); err != nil {
		return dsr.View{}, err
	}
	return dsr.View{}, dsr.Errorf(dsr.EGone, "too many wrong codes; this request has expired, please submit a new one")
}

// wrongCode answers the request's attempts-th wrong code, with budget of
// the person's wrong codes left today: 400 with the attempts left, or 410
// once the request has none.
func (s *Service) wrongCode(ctx context.Context, r *dsr.Request, attempts, budget int, now time.Time) error {
	s.Log.InfoContext(ctx, "wrong verification code", "dsrId", r.ID, "attempt", attempts)
	if attempts >= dsr.MaxCodeAttempts {
		if err := s.expire(ctx, r, now, "too many wrong verification codes"); err != nil {
			return err
		}
		return dsr.Errorf(dsr.EGone, "too many wrong codes; this request has expired, please submit a new one")
	}
	msg := "the code is wrong; no attempt is left today: please try again tomorrow (UTC)"
	if left := min(dsr.MaxCodeAttempts-attempts, budget); left > 0 {
		msg = fmt.Sprintf("the code is wrong; %d attempt(s) left", left)
	}
	return dsr.Invalid(msg, dsr.FieldError{Field: "code", Reason: "does not match the code we sent"})
}

// queue queues request r, whose code was right, and answers its view. The
// right code's guess goes back to the person's budget whatever happens, and
// the request's place among the open ones once it is queued.
func (s *Service) queue(ctx context.Context, r *dsr.Request, code string, now time.Time) (dsr.View, error) {
	// Queue first, then move on: a message for a request not yet queued is
	// retried by dispatch, while a request queued without a message would
	// never be answered.
	if err := s.Queue.SendRequest(ctx, dsr.RequestMessage{RequestID: r.ID}); err != nil {
		s.giveBack(ctx, r, now, false) // still awaiting: the person tries again
		return dsr.View{}, dsr.Unavailable(fmt.Errorf("verify: queue request: %w", err))
	}
	ch := dsr.Changes{VerifiedAt: now}
	if s.Deadline.Start == dsr.ClockAtVerification {
		ch.DueAt = s.Deadline.Due(now, 1)
	}
	err := s.Store.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusQueued, now, ch,
		dsr.Step{Actor: dsr.ActorSubject, Action: dsr.AuditVerified, Detail: "code verified; queued", At: now})
	switch {
	case err == nil:
		r.Status, r.VerifiedAt = dsr.StatusQueued, now
		if !ch.DueAt.IsZero() {
			r.DueAt = ch.DueAt
		}
		s.giveBack(ctx, r, now, true)
		s.Log.InfoContext(ctx, "request verified", "dsrId", r.ID, "event", "verified")
		return view(r), nil
	case dsr.ErrorCodeOf(err) != dsr.EConflict:
		s.giveBack(ctx, r, now, false)
		return dsr.View{}, fmt.Errorf("verify: %w", err)
	}
	// A concurrent verification (or expiry) won; answer with what it stored.
	s.giveBack(ctx, r, now, true)
	stored, err := s.Store.Get(ctx, r.ID)
	if err != nil {
		return dsr.View{}, fmt.Errorf("verify: %w", err)
	}
	if v, done, err := s.verifiedOrEnded(stored, code); done {
		return v, err
	}
	return view(stored), nil
}

// verifiedOrEnded answers a verification of a request that no longer awaits
// one; done is false when r still awaits verification.
func (s *Service) verifiedOrEnded(r *dsr.Request, code string) (v dsr.View, done bool, err error) {
	switch r.Status {
	case dsr.StatusAwaitingVerification:
		return dsr.View{}, false, nil
	case dsr.StatusExpired:
		return dsr.View{}, true, dsr.Errorf(dsr.EGone, "this request has expired; please submit a new one")
	case dsr.StatusRejected:
		return dsr.View{}, true, dsr.Errorf(dsr.EConflict, "this request was rejected")
	}
	if s.Hasher.CodeMatches(r.ID, code, r.CodeHash) {
		return view(r), true, nil // verifying twice is harmless
	}
	return dsr.View{}, true, dsr.Errorf(dsr.EConflict, "this request is already verified")
}

func (s *Service) expire(ctx context.Context, r *dsr.Request, now time.Time, reason string) error {
	err := s.Store.Transition(ctx, r.ID, dsr.StatusAwaitingVerification, dsr.StatusExpired, now, dsr.Changes{FailureReason: reason},
		dsr.Step{Actor: dsr.ActorSubject, Action: dsr.AuditExpired, Detail: reason, At: now})
	switch {
	case err == nil:
		s.release(ctx, r, now)
		return nil
	case dsr.ErrorCodeOf(err) != dsr.EConflict:
		return fmt.Errorf("expire request: %w", err)
	}
	return nil
}

// audit appends a step to request id's trail.
func (s *Service) audit(ctx context.Context, step dsr.Step) error {
	if s.Audit == nil {
		return nil
	}
	if err := s.Audit.Append(ctx, step); err != nil {
		return dsr.Unavailable(err)
	}
	return nil
}

// view is the subject's view of r, linked to its result.
func view(r *dsr.Request) dsr.View { return httpapi.Linked(r.View()) }

// Status returns the view of request id.
func (s *Service) Status(ctx context.Context, id, token string) (dsr.View, error) {
	r, err := s.authorize(ctx, id, token)
	if err != nil {
		return dsr.View{}, err
	}
	return view(r), nil
}

// PublicPurpose is what a person may read of a purpose before asking: what
// it is for, on which legal basis, and whether an objection applies to it.
type PublicPurpose struct {
	Purpose         string `json:"purpose"`
	Description     string `json:"description"`
	LegalBasis      string `json:"legalBasis"`
	DirectMarketing bool   `json:"directMarketing"`
	// Objectionable is false where Art. 21 does not apply (the registry's
	// objection is "none"): an objection naming it is answered with the reason.
	Objectionable bool `json:"objectionable"`
	// Rectifiable are the attributes a rectification may correct here, each
	// with its label in the language asked: a form offers the label and
	// sends the attribute.
	Rectifiable []PublicAttribute `json:"rectifiable"`
	// Portable: a portability request exports this purpose (Art. 20).
	Portable bool `json:"portable"`
	// Channels are the ways of contact that each need their own consent,
	// and Frequencies the values a preferences request may set.
	Channels    []dsr.Channel `json:"channels"`
	Frequencies []string      `json:"frequencies"`
}

// PublicAttribute is an attribute a person may name, with its label.
type PublicAttribute struct {
	Attribute string `json:"attribute"`
	Label     string `json:"label"`
}

// Purposes lists the registry's purposes, in registry order, as a web form
// shows them: never a table or index name, and an attribute only where a
// person may name it (a rectification), with its label; descriptions and
// labels in the language acceptLanguage (the Accept-Language header)
// prefers, else the default.
func (s *Service) Purposes(acceptLanguage string) map[string][]PublicPurpose {
	l := dsr.NegotiateLanguage(acceptLanguage, s.Language)
	out := make([]PublicPurpose, 0, len(s.Registry))
	for _, p := range s.Registry {
		out = append(out, publicPurpose(p, l))
	}
	return map[string][]PublicPurpose{"purposes": out}
}

// publicPurpose is what a person may read of p, in language l.
func publicPurpose(p dsr.Purpose, l dsr.Language) PublicPurpose {
	pp := PublicPurpose{
		Purpose: p.Name, Description: p.Description.In(l), LegalBasis: p.LegalBasis,
		DirectMarketing: p.DirectMarketing, Objectionable: p.Objection != dsr.ActionNone,
		Rectifiable: []PublicAttribute{}, Portable: p.InPortabilityScope(),
		Channels: append([]dsr.Channel{}, p.ChannelList()...), Frequencies: []string{},
	}
	for _, a := range p.Rectifiable {
		pp.Rectifiable = append(pp.Rectifiable, PublicAttribute{Attribute: a, Label: cmp.Or(p.Labels[a].In(l), a)})
	}
	if p.Frequency != nil {
		pp.Frequencies = p.Frequency.Values
	}
	return pp
}

// ReportLink signs a link to the report of a completed access request, in
// format json (the default) or html.
func (s *Service) ReportLink(ctx context.Context, id, token, format string) (*Link, error) {
	r, err := s.authorize(ctx, id, token)
	if err != nil {
		return nil, err
	}
	if r.Type == dsr.TypePortability {
		return s.exportLink(ctx, r, format)
	}
	if format == "" {
		format = "json"
	}
	doc, ok := dsr.ReportDocument(format)
	if !ok {
		return nil, dsr.Invalid("invalid query", dsr.FieldError{Field: "format", Reason: `must be "json" or "html"`})
	}
	if r.Type != dsr.TypeAccess {
		return nil, dsr.Errorf(dsr.EConflict, "a %s request has a certificate, not a report", r.Type)
	}
	if r.Superseded() {
		return nil, dsr.Errorf(dsr.EConflict, "the data was erased while this access request was under way: it is answered by a statement of the erasure (result.certificate), not a report")
	}
	if r.Status != dsr.StatusCompleted || r.Result == nil {
		return nil, dsr.Errorf(dsr.EConflict, "the report is not ready; the request is %s", r.Status)
	}
	return s.sign(ctx, id, doc, "report", format)
}

// CertificateLink signs a link to the certificate of a completed erasure or
// objection request (JSON), or to the answer of an access request that an
// erasure superseded.
func (s *Service) CertificateLink(ctx context.Context, id, token string) (*Link, error) {
	r, err := s.authorize(ctx, id, token)
	if err != nil {
		return nil, err
	}
	if r.Superseded() {
		return s.sign(ctx, id, dsr.DocCertificate, "certificate", "json")
	}
	if r.Type == dsr.TypeAccess || r.Type == dsr.TypePortability {
		return nil, dsr.Errorf(dsr.EConflict, "an %s request has a report, not a certificate", r.Type)
	}
	if r.Status != dsr.StatusCompleted || r.Result == nil || r.Result.CertificateKey == "" {
		return nil, dsr.Errorf(dsr.EConflict, "the certificate is not ready; the request is %s", r.Status)
	}
	return s.sign(ctx, id, dsr.DocCertificate, "certificate", "json")
}

// sign checks that the object still exists (410 once retention deleted it)
// and signs a GET of it valid for LinkTTL.
func (s *Service) sign(ctx context.Context, id string, doc dsr.Document, what, format string) (*Link, error) {
	if err := s.linkWindow(ctx, id); err != nil {
		return nil, err
	}
	ok, err := s.Links.Exists(ctx, id, doc)
	if err != nil {
		return nil, dsr.Unavailable(fmt.Errorf("%s link: %w", what, err))
	}
	if !ok {
		return nil, dsr.Errorf(dsr.EGone, "the %s has been deleted after its retention period", what)
	}
	url, err := s.Links.PresignGet(ctx, id, doc, LinkTTL)
	if err != nil {
		return nil, fmt.Errorf("%s link: %w", what, err)
	}
	if err := s.audit(ctx, dsr.Step{RequestID: id, Actor: dsr.ActorSubject, Action: dsr.AuditLinkIssued, Detail: what + " (" + format + ")", At: s.Clock.Now()}); err != nil {
		return nil, err
	}
	s.Log.InfoContext(ctx, what+" link issued", "dsrId", id, "format", format, "event", "link_issued")
	return &Link{URL: url, ExpiresAt: s.Clock.Now().Add(LinkTTL).Truncate(time.Second)}, nil
}

package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/emf"
	"github.com/privacyops/dsr/internal/httpapi"
)

// quota applies change to the quota of the person with the normalized
// address email, keyed by the keyed hash of its mailbox (dsr.Mailbox: one
// quota for the sub-addresses of one inbox). A limit reached is answered
// 429, logged, counted as a metric, and counted once a day per person in
// the DPO's digest.
func (s *Service) quota(ctx context.Context, email string, now time.Time, change func(*dsr.Quota) error) error {
	if s.Limiter == nil || email == "" {
		return nil // no limits configured, or a request whose address was stripped (its code long expired)
	}
	var first bool
	err := s.Limiter.UpdateQuota(ctx, s.Hasher.Subject(dsr.Mailbox(email)), now, func(q *dsr.Quota) error {
		err := change(q)
		var de *dsr.Error
		first = errors.As(err, &de) && de.Code == dsr.ETooMany && q.Report(de.Limit, now)
		return err
	})
	var de *dsr.Error
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &de) || de.Code != dsr.ETooMany:
		return &httpapi.Unavailable{Err: err}
	}
	s.limited(ctx, de, now)
	if first {
		if err := s.Limiter.CountReached(ctx, now.UTC().Format(time.DateOnly), de.Limit); err != nil {
			s.Log.ErrorContext(ctx, "limit reached, not counted in the digest", "limit", de.Limit, "error", err.Error())
		}
	}
	return de
}

// limited logs a refusal and writes its metric: LimitReached, by limit.
func (s *Service) limited(ctx context.Context, de *dsr.Error, now time.Time) {
	s.Log.WarnContext(ctx, "limit reached", "limit", de.Limit, "retryAfterSeconds", httpapi.RetryAfterSeconds(de.RetryAfter), "event", "limited")
	if s.Metrics == nil {
		return
	}
	if err := emf.Write(s.Metrics, now, map[string]string{"Limit": de.Limit}, map[string]int{"LimitReached": 1}); err != nil {
		s.Log.ErrorContext(ctx, "limit metric not written", "error", err.Error())
	}
}

// giveBack returns the guess of request r's code to its person's budget: the
// code was right, or it was never compared. verified also frees the
// request's place among the person's open requests. A failure costs the
// person one guess of the day at most: it is logged, not answered.
func (s *Service) giveBack(ctx context.Context, r *dsr.Request, now time.Time, verified bool) {
	err := s.quota(ctx, r.Email, now, func(q *dsr.Quota) error {
		if verified {
			q.Verified(r.ID, now)
		} else {
			q.Return(now)
		}
		return nil
	})
	if err != nil {
		s.Log.ErrorContext(ctx, "guess not given back", "dsrId", r.ID, "error", err.Error())
	}
}

// release frees request r's place among its person's open requests: it
// ended unverified, or was never stored. A failure only holds the place
// until the code expires.
func (s *Service) release(ctx context.Context, r *dsr.Request, now time.Time) {
	if err := s.quota(ctx, r.Email, now, func(q *dsr.Quota) error { q.Ended(r.ID, now); return nil }); err != nil {
		s.Log.ErrorContext(ctx, "open request not released", "dsrId", r.ID, "error", err.Error())
	}
}

// AdmitClient takes one request of the client at address from its token
// bucket (Limits.Client), or answers 429 with how long to wait. The bucket
// is keyed by the address's keyed hash: the address is never stored.
func (s *Service) AdmitClient(ctx context.Context, address string) error {
	if s.Limiter == nil || s.Limits.Client.Burst == 0 {
		return nil
	}
	now := s.Clock.Now()
	wait, err := s.Limiter.TakeRate(ctx, s.Hasher.Client(address), s.Limits.Client, now)
	if err != nil {
		return &httpapi.Unavailable{Err: err}
	}
	if wait > 0 {
		de := dsr.TooMany(dsr.LimitClient, wait, "too many requests from your network; please wait a moment and try again")
		s.limited(ctx, de, now)
		return de
	}
	return nil
}

// linkWindow counts one signed link of request id in the current hour, or
// answers 429 until the hour ends (Limits.LinksPerHour).
func (s *Service) linkWindow(ctx context.Context, id string) error {
	if s.Limiter == nil {
		return nil
	}
	now := s.Clock.Now()
	hour := now.Truncate(time.Hour)
	ok, err := s.Limiter.CountWindow(ctx, "links#"+id+"#"+hour.Format("2006-01-02T15"), s.Limits.LinksPerHour, hour.Add(time.Hour))
	if err != nil {
		return &httpapi.Unavailable{Err: err}
	}
	if !ok {
		de := dsr.TooMany(dsr.LimitLinks, hour.Add(time.Hour).Sub(now),
			fmt.Sprintf("links to this request's result were signed %d times this hour, the most we sign; each link is valid 5 minutes", s.Limits.LinksPerHour))
		s.limited(ctx, de, now)
		return de
	}
	return nil
}

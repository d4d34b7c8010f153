package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
)

// LimitStore is the limits' contract: quotas changed by compare and swap,
// token buckets, counted windows and the daily digest.
type LimitStore interface {
	UpdateQuota(ctx context.Context, subjectKey string, now time.Time, change func(*dsr.Quota) error) error
	TakeRate(ctx context.Context, key string, r dsr.Rate, now time.Time) (time.Duration, error)
	CountWindow(ctx context.Context, key string, limit int, until time.Time) (bool, error)
	CountReached(ctx context.Context, day, limit string) error
	Digest(ctx context.Context, day string) (dsr.LimitDigest, error)
}

// RunLimits runs the limits' contract against the store newStore returns.
func RunLimits(t *testing.T, newStore func(t *testing.T) LimitStore, o Options) {
	runQuotas(t, newStore, o)
	runCounters(t, newStore)
}

var limitsNow = time.Date(2026, 12, 1, 23, 50, 0, 0, time.UTC)

func limitKey() string { return fmt.Sprintf("%064d", seq.Add(1)) }

// runQuotas: a person's quota is read, changed and stored by compare and
// swap, refusals included.
func runQuotas(t *testing.T, newStore func(t *testing.T) LimitStore, o Options) {
	ctx, now, key := context.Background(), limitsNow, limitKey
	l := dsr.Limits{OpenPerPerson: 10, CodesPerDay: 10, WrongCodesPerDay: 3}
	read := func(t *testing.T, s LimitStore, k string) dsr.Quota {
		var q dsr.Quota
		if err := s.UpdateQuota(ctx, k, now, func(cur *dsr.Quota) error { q = cur.Clone(); return nil }); err != nil {
			t.Fatal(err)
		}
		return q
	}

	t.Run("a new person's quota is empty, and a change is kept", func(t *testing.T) {
		s, k := newStore(t), key()
		if diff := cmp.Diff(dsr.Quota{}, read(t, s, k)); diff != "" {
			t.Fatalf("new quota (-want +got):\n%s", diff)
		}
		exp := now.Add(dsr.CodeTTL)
		if err := s.UpdateQuota(ctx, k, now, func(q *dsr.Quota) error { return q.Admit("r1", exp, now, l) }); err != nil {
			t.Fatal(err)
		}
		want := dsr.Quota{Day: "2026-12-01", Codes: 1, Pending: map[string]time.Time{"r1": exp}}
		if diff := cmp.Diff(want, read(t, s, k)); diff != "" {
			t.Errorf("after admit (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(dsr.Quota{}, read(t, s, key())); diff != "" {
			t.Errorf("another person's quota changed (-want +got):\n%s", diff)
		}
	})

	t.Run("a refused change is kept with its error", func(t *testing.T) {
		s, k := newStore(t), key()
		var first []bool
		for range 5 {
			err := s.UpdateQuota(ctx, k, now, func(q *dsr.Quota) error {
				err := q.Guess(now, l)
				if err != nil {
					first = append(first, q.Report(dsr.LimitWrongCodes, now))
				}
				return err
			})
			if err != nil && dsr.ErrorCodeOf(err) != dsr.ETooMany {
				t.Fatal(err)
			}
		}
		if got := read(t, s, k); got.Wrong != 3 || !cmp.Equal(got.Reported, []string{dsr.LimitWrongCodes}) {
			t.Errorf("quota %+v, want 3 wrong and the limit reported", got)
		}
		if diff := cmp.Diff([]bool{true, false}, first); diff != "" {
			t.Errorf("first report (-want +got):\n%s", diff)
		}
	})

	t.Run("concurrent changes of one quota all apply", func(t *testing.T) {
		s, k := newStore(t), key()
		o.concurrently(6, func(i int) {
			if err := s.UpdateQuota(ctx, k, now, func(q *dsr.Quota) error {
				return q.Admit(fmt.Sprint("r", i), now.Add(dsr.CodeTTL), now, l)
			}); err != nil {
				t.Error(err)
			}
		})
		if got := read(t, s, k); got.Codes != 6 || len(got.Pending) != 6 {
			t.Errorf("quota %+v, want 6 codes and 6 pending", got)
		}
	})

}

// runCounters: token buckets, counted windows and the daily digest.
func runCounters(t *testing.T, newStore func(t *testing.T) LimitStore) {
	ctx, now, key := context.Background(), limitsNow, limitKey
	t.Run("a token bucket admits its burst, then one per interval", func(t *testing.T) {
		s, k := newStore(t), key()
		r := dsr.Rate{Burst: 3, Every: 10 * time.Second}
		var waits []time.Duration
		for _, at := range []time.Duration{0, 0, 0, 0, 5 * time.Second, 10 * time.Second, 10 * time.Second, 45 * time.Second} {
			w, err := s.TakeRate(ctx, k, r, now.Add(at))
			if err != nil {
				t.Fatal(err)
			}
			waits = append(waits, w)
		}
		want := []time.Duration{0, 0, 0, 10 * time.Second, 5 * time.Second, 0, 10 * time.Second, 0}
		if diff := cmp.Diff(want, waits); diff != "" {
			t.Errorf("waits (-want +got):\n%s", diff)
		}
		if w, err := s.TakeRate(ctx, key(), r, now); err != nil || w != 0 {
			t.Errorf("another bucket: %v %v", w, err)
		}
	})

	t.Run("a window counts up to its limit", func(t *testing.T) {
		s, k := newStore(t), key()
		var got []bool
		for range 4 {
			ok, err := s.CountWindow(ctx, k+"#2026-12-01T23", 3, now.Add(10*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ok)
		}
		if diff := cmp.Diff([]bool{true, true, true, false}, got); diff != "" {
			t.Errorf("counted (-want +got):\n%s", diff)
		}
		if ok, err := s.CountWindow(ctx, k+"#2026-12-02T00", 3, now.Add(70*time.Minute)); err != nil || !ok {
			t.Errorf("the next window: %v %v", ok, err)
		}
	})

	t.Run("the digest counts people per limit and day", func(t *testing.T) {
		s := newStore(t)
		day := fmt.Sprintf("2026-12-%02d", 1+seq.Add(1)%28)
		for _, limit := range []string{dsr.LimitCodes, dsr.LimitCodes, dsr.LimitWrongCodes} {
			if err := s.CountReached(ctx, day, limit); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Digest(ctx, day)
		if err != nil {
			t.Fatal(err)
		}
		want := dsr.LimitDigest{Day: day, People: map[string]int{dsr.LimitCodes: 2, dsr.LimitWrongCodes: 1}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("digest (-want +got):\n%s", diff)
		}
		if got, err := s.Digest(ctx, "1999-01-01"); err != nil || len(got.People) != 0 {
			t.Errorf("a day without: %+v %v", got, err)
		}
	})
}

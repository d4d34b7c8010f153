package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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

// RunLimits runs the limits' contract against the store newStore returns:
// a person's quota is read, changed and stored by compare and swap, refusals
// included; token buckets, counted windows and the daily digest count. Each
// case keeps to keys and a digest day of its own, and runs in parallel.
func RunLimits(t *testing.T, newStore func(t *testing.T) LimitStore, o Options) {
	cases := []struct {
		name string
		run  func(t *testing.T, s LimitStore, o Options)
	}{
		{"NewQuotaEmptyChangeKept", newQuotaEmptyChangeKept},
		{"RefusedChangeKeptWithItsError", refusedChangeKeptWithItsError},
		{"ConcurrentChangesAllApply", concurrentChangesAllApply},
		{"TokenBucketBurstThenOnePerInterval", tokenBucketBurstThenOnePerInterval},
		{"WindowCountsUpToItsLimit", windowCountsUpToItsLimit},
		{"DigestCountsPeoplePerLimitAndDay", digestCountsPeoplePerLimitAndDay},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t), o) })
	}
}

var (
	limitsNow   = time.Date(2026, 12, 1, 23, 50, 0, 0, time.UTC)
	quotaLimits = dsr.Limits{OpenPerPerson: 10, CodesPerDay: 10, WrongCodesPerDay: 3}
)

func limitKey() string { return fmt.Sprintf("%064d", seq.Add(1)) }

// quotaOf reads key's quota as stored, through a change that changes nothing.
func quotaOf(t *testing.T, s LimitStore, key string) dsr.Quota {
	t.Helper()
	var q dsr.Quota
	must(t, s.UpdateQuota(t.Context(), key, limitsNow, func(cur *dsr.Quota) error { q = cur.Clone(); return nil }))
	return q
}

// newQuotaEmptyChangeKept: a new person's quota is empty, and a change is kept for that person only.
func newQuotaEmptyChangeKept(t *testing.T, s LimitStore, _ Options) {
	t.Parallel()
	now, k := limitsNow, limitKey()
	if diff := cmp.Diff(dsr.Quota{}, quotaOf(t, s, k)); diff != "" {
		t.Fatalf("new quota (-want +got):\n%s", diff)
	}
	exp := now.Add(dsr.CodeTTL)
	must(t, s.UpdateQuota(t.Context(), k, now, func(q *dsr.Quota) error { return q.Admit("r1", exp, now, quotaLimits) }))
	want := dsr.Quota{Day: "2026-12-01", Codes: 1, Pending: map[string]time.Time{"r1": exp}}
	wantDiff(t, "after admit", want, quotaOf(t, s, k))
	wantDiff(t, "another person's quota", dsr.Quota{}, quotaOf(t, s, limitKey()))
}

// refusedChangeKeptWithItsError: a change refused with dsr.ETooMany is still kept (the wrong guesses counted, the limit reported once).
func refusedChangeKeptWithItsError(t *testing.T, s LimitStore, _ Options) {
	t.Parallel()
	now, k := limitsNow, limitKey()
	var first []bool
	for range 5 {
		err := s.UpdateQuota(t.Context(), k, now, func(q *dsr.Quota) error {
			err := q.Guess(now, quotaLimits)
			if err != nil {
				first = append(first, q.Report(dsr.LimitWrongCodes, now))
			}
			return err
		})
		if code := dsr.ErrorCodeOf(err); code != noError && code != dsr.ETooMany {
			t.Fatal(err)
		}
	}
	type wrong struct {
		Wrong    int
		Reported []string
	}
	got := quotaOf(t, s, k)
	wantDiff(t, "quota", wrong{3, []string{dsr.LimitWrongCodes}}, wrong{got.Wrong, got.Reported})
	wantDiff(t, "first report", []bool{true, false}, first)
}

// concurrentChangesAllApply: concurrent changes of one quota all apply.
func concurrentChangesAllApply(t *testing.T, s LimitStore, o Options) {
	t.Parallel()
	now, k := limitsNow, limitKey()
	o.concurrently(6, func(i int) {
		if err := s.UpdateQuota(t.Context(), k, now, func(q *dsr.Quota) error {
			return q.Admit(fmt.Sprint("r", i), now.Add(dsr.CodeTTL), now, quotaLimits)
		}); err != nil {
			t.Error(err)
		}
	})
	type admitted struct{ Codes, Pending int }
	got := quotaOf(t, s, k)
	wantDiff(t, "quota", admitted{6, 6}, admitted{got.Codes, len(got.Pending)})
}

// tokenBucketBurstThenOnePerInterval: a token bucket admits its burst, then one per interval, telling the wait; another bucket is its own.
func tokenBucketBurstThenOnePerInterval(t *testing.T, s LimitStore, _ Options) {
	t.Parallel()
	ctx, now, k := t.Context(), limitsNow, limitKey()
	r := dsr.Rate{Burst: 3, Every: 10 * time.Second}
	var waits []time.Duration
	for _, at := range []time.Duration{0, 0, 0, 0, 5 * time.Second, 10 * time.Second, 10 * time.Second, 45 * time.Second} {
		w, err := s.TakeRate(ctx, k, r, now.Add(at))
		must(t, err)
		waits = append(waits, w)
	}
	wantDiff(t, "waits", []time.Duration{0, 0, 0, 10 * time.Second, 5 * time.Second, 0, 10 * time.Second, 0}, waits)
	w, err := s.TakeRate(ctx, limitKey(), r, now)
	must(t, err)
	wantDiff(t, "wait of another bucket", time.Duration(0), w)
}

// windowCountsUpToItsLimit: a counted window admits up to its limit; the next window counts afresh.
func windowCountsUpToItsLimit(t *testing.T, s LimitStore, _ Options) {
	t.Parallel()
	ctx, now, k := t.Context(), limitsNow, limitKey()
	var got []bool
	for range 4 {
		ok, err := s.CountWindow(ctx, k+"#2026-12-01T23", 3, now.Add(10*time.Minute))
		must(t, err)
		got = append(got, ok)
	}
	wantDiff(t, "counted", []bool{true, true, true, false}, got)
	ok, err := s.CountWindow(ctx, k+"#2026-12-02T00", 3, now.Add(70*time.Minute))
	must(t, err)
	wantDiff(t, "counted in the next window", true, ok)
}

// digestCountsPeoplePerLimitAndDay: the digest counts the people who reached each limit on a day; a day without any has none.
func digestCountsPeoplePerLimitAndDay(t *testing.T, s LimitStore, _ Options) {
	t.Parallel()
	ctx := t.Context()
	day := fmt.Sprintf("2026-12-%02d", 1+seq.Add(1)%28)
	for _, limit := range []string{dsr.LimitCodes, dsr.LimitCodes, dsr.LimitWrongCodes} {
		must(t, s.CountReached(ctx, day, limit))
	}
	got, err := s.Digest(ctx, day)
	must(t, err)
	wantDiff(t, "digest", dsr.LimitDigest{Day: day, People: map[string]int{dsr.LimitCodes: 2, dsr.LimitWrongCodes: 1}}, got)
	none, err := s.Digest(ctx, "1999-01-01")
	must(t, err)
	wantDiff(t, "people of a day without", map[string]int{}, none.People, cmpopts.EquateEmpty())
}

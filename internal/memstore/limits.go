package memstore

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// Limits is the in-memory form of dynamo.Limits, safe for concurrent use.
type Limits struct {
	mu      sync.Mutex
	quotas  map[string]dsr.Quota
	buckets map[string]time.Time
	windows map[string]int
	digests map[string]map[string]int
}

// UpdateQuota is the in-memory form of dynamo.Limits.UpdateQuota.
func (l *Limits) UpdateQuota(_ context.Context, subjectKey string, _ time.Time, change func(*dsr.Quota) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.quotas == nil {
		l.quotas = map[string]dsr.Quota{}
	}
	next := l.quotas[subjectKey].Clone()
	err := change(&next)
	if !next.Equal(l.quotas[subjectKey]) {
		l.quotas[subjectKey] = next.Clone()
	}
	return err
}

// Quota returns the quota of the person with key subjectKey (for tests).
func (l *Limits) Quota(subjectKey string) dsr.Quota {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.quotas[subjectKey].Clone()
}

// TakeRate is the in-memory form of dynamo.Limits.TakeRate.
func (l *Limits) TakeRate(_ context.Context, key string, r dsr.Rate, now time.Time) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]time.Time{}
	}
	next, wait, ok := r.Take(l.buckets[key], now)
	if ok {
		l.buckets[key] = next.Truncate(time.Millisecond)
	}
	return wait, nil
}

// CountWindow is the in-memory form of dynamo.Limits.CountWindow.
func (l *Limits) CountWindow(_ context.Context, key string, limit int, _ time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.windows == nil {
		l.windows = map[string]int{}
	}
	if l.windows[key] >= limit {
		return false, nil
	}
	l.windows[key]++
	return true, nil
}

// CountReached is the in-memory form of dynamo.Limits.CountReached.
func (l *Limits) CountReached(_ context.Context, day, limit string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.digests == nil {
		l.digests = map[string]map[string]int{}
	}
	if l.digests[day] == nil {
		l.digests[day] = map[string]int{}
	}
	l.digests[day][limit]++
	return nil
}

// Digest is the in-memory form of dynamo.Limits.Digest.
func (l *Limits) Digest(_ context.Context, day string) (dsr.LimitDigest, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	people := maps.Clone(l.digests[day])
	if people == nil {
		people = map[string]int{}
	}
	return dsr.LimitDigest{Day: day, People: people}, nil
}

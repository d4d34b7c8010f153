package memstore

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// Keying is the in-memory form of dynamo.Keying, safe for concurrent use.
type Keying struct {
	mu        sync.Mutex
	unkeyable map[string]string         // purpose + "\x00" + ref → reason
	digests   map[string]map[string]int // day → purpose → count
	passes    map[string]dsr.BackfillPass
	segments  map[string]dsr.BackfillSegment // purpose + "\x00" + segment
}

func (k *Keying) init() {
	if k.unkeyable == nil {
		k.unkeyable, k.digests = map[string]string{}, map[string]map[string]int{}
		k.passes, k.segments = map[string]dsr.BackfillPass{}, map[string]dsr.BackfillSegment{}
	}
}

// Unkeyable is the in-memory form of dynamo.Keying.Unkeyable.
func (k *Keying) Unkeyable(_ context.Context, purpose, ref, reason string, at time.Time) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.init()
	if _, ok := k.unkeyable[purpose+"\x00"+ref]; ok {
		return false, nil
	}
	k.unkeyable[purpose+"\x00"+ref] = reason
	day := at.UTC().Format(time.DateOnly)
	if k.digests[day] == nil {
		k.digests[day] = map[string]int{}
	}
	k.digests[day][purpose]++
	return true, nil
}

// UnkeyableDigest is the in-memory form of dynamo.Keying.UnkeyableDigest.
func (k *Keying) UnkeyableDigest(_ context.Context, day string) (map[string]int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := map[string]int{}
	for p, n := range k.digests[day] {
		out[p] = n
	}
	return out, nil
}

// Pass is the in-memory form of dynamo.Keying.Pass.
func (k *Keying) Pass(_ context.Context, purpose string) (dsr.BackfillPass, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.init()
	p, ok := k.passes[purpose]
	if !ok {
		p.Purpose = purpose
	}
	return p, nil
}

// SavePass is the in-memory form of dynamo.Keying.SavePass.
func (k *Keying) SavePass(_ context.Context, p dsr.BackfillPass) (dsr.BackfillPass, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.init()
	if k.passes[p.Purpose].Version != p.Version {
		return p, &dsr.Error{Code: dsr.EConflict, Message: "save backfill pass: another run changed it"}
	}
	p.Version++
	p.StartedAt, p.CompletedAt = p.StartedAt.Truncate(time.Millisecond), p.CompletedAt.Truncate(time.Millisecond)
	k.passes[p.Purpose] = p
	return p, nil
}

// Segment is the in-memory form of dynamo.Keying.Segment.
func (k *Keying) Segment(_ context.Context, purpose string, i int) (dsr.BackfillSegment, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.init()
	s, ok := k.segments[segmentKey(purpose, i)]
	if !ok {
		s.Segment = i
	}
	return s, nil
}

// SaveSegment is the in-memory form of dynamo.Keying.SaveSegment.
func (k *Keying) SaveSegment(_ context.Context, purpose string, s dsr.BackfillSegment) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.init()
	s.Pass = s.Pass.Truncate(time.Millisecond)
	k.segments[segmentKey(purpose, s.Segment)] = s
	return nil
}

func segmentKey(purpose string, i int) string { return purpose + "\x00" + strconv.Itoa(i) }

// Keyed is the in-memory form of dynamo.Keying.Keyed.
func (k *Keying) Keyed(_ context.Context, purposes []string) (map[string]bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.init()
	out := map[string]bool{}
	for _, p := range purposes {
		if pass, ok := k.passes[p]; ok {
			out[p] = pass.Complete()
		}
	}
	return out, nil
}

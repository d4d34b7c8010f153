package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
)

// Provenance is an in-memory provenance store, safe for concurrent use. It
// keeps the table's expiry index as dynamo lays it out (dynamo.EntryBucket),
// and counts what it reads and deletes, so tests can say how much a sweep
// cost.
type Provenance struct {
	mu      sync.Mutex
	entries map[[2]string]provEntry // subject key, sort key
	cp      dsr.RetentionCheckpoint
	// ItemsRead counts the index items DuePage read; Deletes counts every
	// delete asked for, per sort key (a key deleted twice counts 2).
	ItemsRead int
	Deletes   map[string]int
}

type provEntry struct {
	e      dsr.ProvenanceEntry
	bucket string
}

func sortKey(e dsr.ProvenanceEntry) string { return e.Purpose + "#" + e.ID }

// Put is the in-memory form of dynamo.Provenance.Put.
func (s *Provenance) Put(_ context.Context, e dsr.ProvenanceEntry) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.entries == nil {
		s.entries = map[[2]string]provEntry{}
	}
	k := [2]string{e.SubjectKey, sortKey(e)}
	if _, ok := s.entries[k]; ok {
		return false, nil
	}
	s.entries[k] = provEntry{e: e, bucket: dynamo.EntryBucket(e)}
	return true, nil
}

// Subject is the in-memory form of dynamo.Provenance.Subject.
func (s *Provenance) Subject(_ context.Context, subjectKey, purpose string, asOf time.Time) ([]dsr.ProvenanceEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []dsr.ProvenanceEntry
	for k, pe := range s.entries {
		if k[0] == subjectKey && (purpose == "" || pe.e.Purpose == purpose) && pe.e.Live(asOf) {
			out = append(out, pe.e)
		}
	}
	slices.SortFunc(out, func(a, b dsr.ProvenanceEntry) int { return strings.Compare(sortKey(a), sortKey(b)) })
	return out, nil
}

// DeleteSubject is the in-memory form of dynamo.Provenance.DeleteSubject.
func (s *Provenance) DeleteSubject(_ context.Context, subjectKey, purpose string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, pe := range s.entries {
		if k[0] == subjectKey && pe.e.Purpose == purpose {
			delete(s.entries, k)
			n++
		}
	}
	return n, nil
}

// DuePage is the in-memory form of dynamo.Provenance.DuePage: entries of
// bucket in (expiry, key) order, the cursor being the last one returned.
func (s *Provenance) DuePage(_ context.Context, bucket string, now time.Time, cursor string, limit int) ([]dsr.ProvenanceKey, string, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	order := func(pe provEntry) string {
		return fmt.Sprintf("%020d|%s|%s", pe.e.ExpiresAt.Unix(), pe.e.SubjectKey, sortKey(pe.e))
	}
	var due []provEntry
	for _, pe := range s.entries {
		if pe.bucket == bucket && pe.e.ExpiresAt.Unix() <= now.Unix() && (cursor == "" || order(pe) > cursor) {
			due = append(due, pe)
		}
	}
	slices.SortFunc(due, func(a, b provEntry) int { return strings.Compare(order(a), order(b)) })
	end := min(limit, len(due))
	keys := make([]dsr.ProvenanceKey, 0, end)
	for _, pe := range due[:end] {
		keys = append(keys, dsr.ProvenanceKey{SubjectKey: pe.e.SubjectKey, Purpose: pe.e.Purpose, Entry: sortKey(pe.e), Bucket: pe.bucket})
	}
	s.ItemsRead += end
	next := ""
	if end > 0 && end < len(due) {
		next = order(due[end-1])
	}
	return keys, next, end, nil
}

// Due is the in-memory form of dynamo.Provenance.Due.
func (s *Provenance) Due(ctx context.Context, day, position string, now time.Time, limit int) ([]dsr.ProvenanceKey, string, int, error) {
	return dynamo.DueInDay(ctx, s.DuePage, day, position, now, limit)
}

// Delete is the in-memory form of dynamo.Provenance.Delete.
func (s *Provenance) Delete(_ context.Context, keys []dsr.ProvenanceKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Deletes == nil {
		s.Deletes = map[string]int{}
	}
	for _, k := range keys {
		delete(s.entries, [2]string{k.SubjectKey, k.Entry})
		s.Deletes[k.SubjectKey+"/"+k.Entry]++
	}
	return nil
}

// Hold is the in-memory form of dynamo.Provenance.Hold (without the time to
// live, which memory does not have).
func (s *Provenance) Hold(_ context.Context, keys []dsr.ProvenanceKey, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		id := [2]string{k.SubjectKey, k.Entry}
		if pe, ok := s.entries[id]; ok {
			pe.bucket = dynamo.HoldBucket(k, now)
			s.entries[id] = pe
		}
	}
	return nil
}

// Renew is the in-memory form of dynamo.Provenance.Renew.
func (s *Provenance) Renew(_ context.Context, keys []dsr.ProvenanceKey, years func(purpose string) int, now time.Time) ([]dsr.ProvenanceKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var renewed []dsr.ProvenanceKey
	for _, k := range keys {
		id := [2]string{k.SubjectKey, k.Entry}
		pe, ok := s.entries[id]
		if !ok {
			continue
		}
		exp := dsr.ProvenanceExpiry(pe.e.At, years(pe.e.Purpose))
		if exp.After(now) && exp.After(pe.e.ExpiresAt) {
			pe.e.ExpiresAt = exp
			pe.bucket = dynamo.EntryBucket(pe.e)
			s.entries[id] = pe
			renewed = append(renewed, k)
		}
	}
	return renewed, nil
}

// KeepUntil is the in-memory form of dynamo.Provenance.KeepUntil.
func (s *Provenance) KeepUntil(_ context.Context, subjectKey, purpose string, until, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, pe := range s.entries {
		if k[0] == subjectKey && pe.e.Purpose == purpose && pe.e.Live(now) && pe.e.ExpiresAt.Before(until) {
			pe.e.ExpiresAt = until.UTC()
			pe.bucket = dynamo.EntryBucket(pe.e)
			s.entries[k] = pe
			n++
		}
	}
	return n, nil
}

// Checkpoint is the in-memory form of dynamo.Provenance.Checkpoint.
func (s *Provenance) Checkpoint(_ context.Context) (dsr.RetentionCheckpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cp, nil
}

// SaveCheckpoint is the in-memory form of dynamo.Provenance.SaveCheckpoint.
func (s *Provenance) SaveCheckpoint(_ context.Context, cp dsr.RetentionCheckpoint) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cp.Version != s.cp.Version {
		return 0, conflict("save retention checkpoint")
	}
	cp.Version++
	s.cp = cp
	return cp.Version, nil
}

// Backups is the in-memory form of dynamo.Provenance.Backups: memory keeps
// no backups.
func (s *Provenance) Backups(context.Context, time.Time) ([]dsr.Copy, error) { return nil, nil }

// Len is the number of entries stored, expired or not.
func (s *Provenance) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

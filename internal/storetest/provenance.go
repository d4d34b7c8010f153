package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
)

// ProvenanceStore is the provenance store's contract: what the provenance
// consumer, the access and erasure workers and the retention job use.
type ProvenanceStore interface {
	Put(ctx context.Context, e dsr.ProvenanceEntry) (bool, error)
	Subject(ctx context.Context, subjectKey, purpose string, asOf time.Time) ([]dsr.ProvenanceEntry, error)
	DeleteSubject(ctx context.Context, subjectKey, purpose string) (int, error)
	DuePage(ctx context.Context, bucket string, now time.Time, cursor string, limit int) ([]dsr.ProvenanceKey, string, int, error)
	Delete(ctx context.Context, keys []dsr.ProvenanceKey) error
	Hold(ctx context.Context, keys []dsr.ProvenanceKey, now time.Time) error
	Checkpoint(ctx context.Context) (dsr.RetentionCheckpoint, error)
	SaveCheckpoint(ctx context.Context, cp dsr.RetentionCheckpoint) (int, error)
}

// provBase is the suite's first event time. Its entries expire in 2032, so
// the table's time to live (expiry plus dynamo.TTLBackstop) cannot remove any
// while the suite runs. Each case uses expiry days of its own (a month
// apart) and subject keys of its own, so that the cases can share a table.
var provBase = time.Date(2030, 3, 10, 0, 0, 0, 0, time.UTC)

func newSubjectKey() string { return fmt.Sprintf("%064x", seq.Add(1)) }

// collected is the entry of a "collected" event, in shard shard (any shard
// if shard < 0): the source's name is numbered until the entry's id falls
// in it, so that its time, and so its expiry, is exactly as asked.
func collected(subjectKey, purpose, source string, at time.Time, shard int) dsr.ProvenanceEntry {
	for n := 0; ; n++ {
		src := source
		if n > 0 {
			src = fmt.Sprintf("%s %d", source, n)
		}
		e := dsr.NewProvenanceEntry(dsr.ProvenanceEvent{Purpose: purpose, Event: dsr.EventCollected, Source: src, At: at}, subjectKey, dsr.DefaultProvenanceYears)
		if shard < 0 || dynamo.ExpiryShard(e) == shard {
			return e
		}
	}
}

// disclosed is the entry of a "disclosed" event.
func disclosed(subjectKey, purpose, recipient, country, safeguard string, at time.Time) dsr.ProvenanceEntry {
	return dsr.NewProvenanceEntry(dsr.ProvenanceEvent{
		Purpose: purpose, Event: dsr.EventDisclosed, Recipient: recipient, Country: country, Safeguard: safeguard, At: at,
	}, subjectKey, dsr.DefaultProvenanceYears)
}

// keyOf is the key the expiry index returns for e in bucket: its sort key
// in the table is purpose#id.
func keyOf(e dsr.ProvenanceEntry, bucket string) dsr.ProvenanceKey {
	return dsr.ProvenanceKey{SubjectKey: e.SubjectKey, Entry: e.Purpose + "#" + e.ID, Bucket: bucket}
}

var (
	sortProvEntries = cmpopts.SortSlices(func(a, b dsr.ProvenanceEntry) bool {
		if a.SubjectKey != b.SubjectKey {
			return a.SubjectKey < b.SubjectKey
		}
		return a.Purpose+"#"+a.ID < b.Purpose+"#"+b.ID
	})
	sortProvKeys = cmpopts.SortSlices(func(a, b dsr.ProvenanceKey) bool {
		if a.SubjectKey != b.SubjectKey {
			return a.SubjectKey < b.SubjectKey
		}
		return a.Entry < b.Entry
	})
)

// together runs n calls of f, at once unless o.Sequential.
func together(o Options, n int, f func()) {
	var wg sync.WaitGroup
	for range n {
		if o.Sequential {
			f()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	wg.Wait()
}

// RunProvenance runs the provenance store's contract against the store
// newStore returns: entries are stored once and read per subject and
// purpose as of a time; the expiry index gives a day's due keys page by
// page; held entries move to the next day's partition; the retention
// checkpoint is versioned. The concurrency cases run one call after another
// where the backend does not serialize conditional writes (o.Sequential).
func RunProvenance(t *testing.T, newStore func(t *testing.T) ProvenanceStore, o Options) {
	ctx := context.Background()
	put := func(t *testing.T, s ProvenanceStore, entries ...dsr.ProvenanceEntry) {
		t.Helper()
		for _, e := range entries {
			if ok, err := s.Put(ctx, e); err != nil || !ok {
				t.Fatalf("put %s/%s: stored %v, %v", e.Purpose, e.ID, ok, err)
			}
		}
	}
	subject := func(t *testing.T, s ProvenanceStore, key, purpose string, asOf time.Time) []dsr.ProvenanceEntry {
		t.Helper()
		got, err := s.Subject(ctx, key, purpose, asOf)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// due reads every page of bucket's due keys, limit at a time, and fails
	// on a key returned twice, a page over the limit or fewer items read
	// than keys returned. It returns the keys and the number of pages.
	due := func(t *testing.T, s ProvenanceStore, bucket string, now time.Time, limit int) ([]dsr.ProvenanceKey, int) {
		t.Helper()
		var all []dsr.ProvenanceKey
		seen := map[dsr.ProvenanceKey]bool{}
		cursor := ""
		for pages := 1; ; pages++ {
			if pages > 20 {
				t.Fatalf("due pages of %s do not end", bucket)
			}
			keys, next, read, err := s.DuePage(ctx, bucket, now, cursor, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) > limit || read < len(keys) {
				t.Errorf("page %d of %s: %d keys, %d items read, limit %d", pages, bucket, len(keys), read, limit)
			}
			for _, k := range keys {
				if seen[k] {
					t.Errorf("page %d of %s: %+v again", pages, bucket, k)
				}
				seen[k] = true
			}
			all = append(all, keys...)
			if next == "" {
				return all, pages
			}
			cursor = next
		}
	}

	t.Run("an entry is stored once, round-trip", func(t *testing.T) {
		s := newStore(t)
		key := newSubjectKey()
		e := disclosed(key, "billing", "Example Print Inc.", "US", "SCC (EU) 2021/914", provBase.Add(9*time.Hour+30*time.Second))
		src := collected(key, "marketing", "Trade fair 2030", provBase.Add(10*time.Hour), -1)
		put(t, s, e, src)
		if ok, err := s.Put(ctx, e); err != nil || ok {
			t.Errorf("second put: stored %v, %v", ok, err)
		}
		changed := e
		changed.Recipient, changed.Country = "Someone Else Ltd", "GB"
		if ok, err := s.Put(ctx, changed); err != nil || ok {
			t.Errorf("put of another entry with the same id: stored %v, %v", ok, err)
		}
		// A redelivered event, several deliveries at once: stored by one.
		again := collected(key, "billing", "CRM import", provBase.Add(11*time.Hour), -1)
		var stored atomic.Int32
		together(o, 4, func() {
			ok, err := s.Put(ctx, again)
			if err != nil {
				t.Error(err)
			} else if ok {
				stored.Add(1)
			}
		})
		if stored.Load() != 1 {
			t.Errorf("parallel puts of one entry: %d stored it", stored.Load())
		}
		got := subject(t, s, key, "", time.Time{})
		if diff := cmp.Diff([]dsr.ProvenanceEntry{e, src, again}, got, sortProvEntries); diff != "" {
			t.Errorf("entries (-put +got):\n%s", diff)
		}
		// An event's time keeps its milliseconds (an access report shows
		// it); its expiry is kept to the second, the expiry index's unit.
		other := newSubjectKey()
		ms := collected(other, "billing", "CRM", provBase.Add(12*time.Hour+789*time.Millisecond), -1)
		put(t, s, ms)
		got = subject(t, s, other, "", time.Time{})
		if len(got) != 1 || !got[0].At.Equal(ms.At) || got[0].ExpiresAt.Unix() != ms.ExpiresAt.Unix() || got[0].ID != ms.ID {
			t.Errorf("an event at %s: %+v", ms.At.Format(time.RFC3339Nano), got)
		}
	})

	t.Run("a subject's entries, of one purpose or all, live as of a time", func(t *testing.T) {
		s := newStore(t)
		a, b := newSubjectKey(), newSubjectKey()
		asOf := provBase.AddDate(dsr.DefaultProvenanceYears, 0, 0)
		billing1 := collected(a, "billing", "CRM", provBase.Add(time.Second), -1) // expires a second after asOf
		billing2 := disclosed(a, "billing", "Example Print GmbH", "DE", "", provBase.Add(2*time.Hour))
		atAsOf := collected(a, "billing", "Old shop", provBase, -1) // expires at asOf
		expired := collected(a, "billing", "Older shop", provBase.Add(-time.Hour), -1)
		marketing := collected(a, "marketing", "Trade fair 2030", provBase.Add(3*time.Hour), -1)
		archive := collected(a, "billing_archive", "Archive", provBase.Add(4*time.Hour), -1) // a purpose named like another and more
		others := collected(b, "billing", "CRM", provBase.Add(time.Second), -1)
		put(t, s, billing1, billing2, atAsOf, expired, marketing, archive, others)
		for _, tc := range []struct {
			name         string
			key, purpose string
			asOf         time.Time
			want         []dsr.ProvenanceEntry
		}{
			{"one purpose", a, "billing", asOf, []dsr.ProvenanceEntry{billing1, billing2}},
			{"every purpose", a, "", asOf, []dsr.ProvenanceEntry{billing1, billing2, marketing, archive}},
			{"the purpose whose name the other's begins with", a, "billing_archive", asOf, []dsr.ProvenanceEntry{archive}},
			{"a second before the expiry", a, "billing", asOf.Add(-time.Second), []dsr.ProvenanceEntry{billing1, billing2, atAsOf}},
			{"as of a second after asOf", a, "billing", asOf.Add(time.Second), []dsr.ProvenanceEntry{billing2}},
			{"as of time zero: every entry stored", a, "billing", time.Time{}, []dsr.ProvenanceEntry{billing1, billing2, atAsOf, expired}},
			{"another subject", b, "", asOf, []dsr.ProvenanceEntry{others}},
			{"a purpose without entries", a, "newsletter", time.Time{}, nil},
			{"an unknown subject", newSubjectKey(), "", time.Time{}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got := subject(t, s, tc.key, tc.purpose, tc.asOf)
				if diff := cmp.Diff(tc.want, got, sortProvEntries, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("entries (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("a subject's purpose is deleted, expired entries too", func(t *testing.T) {
		s := newStore(t)
		a, b := newSubjectKey(), newSubjectKey()
		at := provBase.AddDate(0, 1, 0)
		billing := []dsr.ProvenanceEntry{
			collected(a, "billing", "CRM", at.Add(time.Hour), -1),
			disclosed(a, "billing", "Example Print GmbH", "DE", "", at.Add(2*time.Hour)),
			collected(a, "billing", "Old shop", at.AddDate(-3, 0, 0), -1), // long expired
		}
		marketing := collected(a, "marketing", "Trade fair 2030", at.Add(time.Hour), -1)
		archive := collected(a, "billing_archive", "Archive", at.Add(time.Hour), -1)
		others := collected(b, "billing", "CRM", at.Add(time.Hour), -1)
		put(t, s, append(billing, marketing, archive, others)...)
		if n, err := s.DeleteSubject(ctx, a, "billing"); err != nil || n != len(billing) {
			t.Errorf("delete: %d, %v; want %d", n, err, len(billing))
		}
		for _, tc := range []struct {
			key  string
			want []dsr.ProvenanceEntry
		}{{a, []dsr.ProvenanceEntry{marketing, archive}}, {b, []dsr.ProvenanceEntry{others}}} {
			if diff := cmp.Diff(tc.want, subject(t, s, tc.key, "", time.Time{}), sortProvEntries, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("left of %s… (-want +got):\n%s", tc.key[56:], diff)
			}
		}
		if n, err := s.DeleteSubject(ctx, a, "billing"); err != nil || n != 0 {
			t.Errorf("second delete: %d, %v", n, err)
		}
		// The expiry index no longer has them either.
		for _, e := range billing {
			keys, _ := due(t, s, dynamo.EntryBucket(e), e.ExpiresAt, 100)
			for _, k := range keys {
				if k.SubjectKey == a && strings.HasPrefix(k.Entry, "billing#") {
					t.Errorf("deleted entry still due: %+v", k)
				}
			}
		}
	})

	t.Run("due keys of one partition, page by page", func(t *testing.T) {
		s := newStore(t)
		const shard = 2
		at := provBase.AddDate(0, 2, 0)                                         // 2030-05-10
		now := at.AddDate(dsr.DefaultProvenanceYears, 0, 0).Add(12 * time.Hour) // 2032-05-10T12:00
		bucket := dynamo.ExpiryBucket(dynamo.ExpiryDay(now), shard)
		a, b, c, d := newSubjectKey(), newSubjectKey(), newSubjectKey(), newSubjectKey()
		dueNow := []dsr.ProvenanceEntry{
			collected(a, "billing", "CRM", at, shard),
			collected(b, "billing", "CRM", at, shard), // the same expiry as the first
			collected(a, "marketing", "Trade fair", at.Add(time.Hour), shard),
			collected(c, "billing", "Shop", at.Add(2*time.Hour), shard),
			collected(d, "billing", "Shop", at.Add(12*time.Hour), shard), // expires at now
		}
		notYet := collected(d, "marketing", "Shop", at.Add(12*time.Hour+time.Second), shard)
		otherShard := collected(a, "newsletter", "Sign-up", at.Add(time.Hour), (shard+1)%dynamo.ProvenanceShards)
		dayBefore := collected(b, "marketing", "Sign-up", at.AddDate(0, 0, -1), shard)
		put(t, s, append(dueNow, notYet, otherShard, dayBefore)...)
		for _, e := range dueNow {
			if dynamo.EntryBucket(e) != bucket {
				t.Fatalf("entry in %s, want %s", dynamo.EntryBucket(e), bucket)
			}
		}
		var want []dsr.ProvenanceKey
		for _, e := range dueNow {
			want = append(want, keyOf(e, bucket))
		}
		got, pages := due(t, s, bucket, now, 2)
		if diff := cmp.Diff(want, got, sortProvKeys); diff != "" {
			t.Errorf("due keys (-want +got):\n%s", diff)
		}
		if pages < 3 {
			t.Errorf("%d due keys in %d pages of 2", len(got), pages)
		}
		// Oldest expiry first.
		expiry := map[dsr.ProvenanceKey]time.Time{}
		for _, e := range dueNow {
			expiry[keyOf(e, bucket)] = e.ExpiresAt
		}
		for i := 1; i < len(got); i++ {
			if expiry[got[i]].Before(expiry[got[i-1]]) {
				t.Errorf("due key %d expires before key %d", i, i-1)
			}
		}
		// One page as large as the partition; nothing due yet.
		if keys, _, read, err := s.DuePage(ctx, bucket, now, "", 100); err != nil || len(keys) != len(dueNow) || read < len(keys) {
			t.Errorf("one page: %d keys, %d read, %v", len(keys), read, err)
		}
		if keys, next, _, err := s.DuePage(ctx, bucket, at.AddDate(dsr.DefaultProvenanceYears, 0, 0).Add(-time.Second), "", 2); err != nil || len(keys) != 0 || next != "" {
			t.Errorf("before the first expiry: %v %q %v", keys, next, err)
		}
		if keys, _ := due(t, s, dynamo.ExpiryBucket(dynamo.ExpiryDay(now), (shard+1)%dynamo.ProvenanceShards), now, 2); !cmp.Equal([]dsr.ProvenanceKey{keyOf(otherShard, dynamo.EntryBucket(otherShard))}, keys) {
			t.Errorf("the other shard: %+v", keys)
		}
	})

	t.Run("a sweep that deletes or holds each page before the next sees every due entry once", func(t *testing.T) {
		// The retention job's pattern: the next page's cursor names a key
		// the last page deleted or moved.
		s := newStore(t)
		const shard = 0
		at := provBase.AddDate(0, 5, 0) // 2030-08-10
		now := at.AddDate(dsr.DefaultProvenanceYears, 0, 0).Add(23 * time.Hour)
		bucket := dynamo.ExpiryBucket(dynamo.ExpiryDay(now), shard)
		var want []dsr.ProvenanceKey
		for i := range 7 {
			e := collected(newSubjectKey(), "billing", "CRM", at.Add(time.Duration(i/2)*time.Hour), shard) // two at each expiry
			put(t, s, e)
			want = append(want, keyOf(e, bucket))
		}
		var got, held []dsr.ProvenanceKey
		cursor := ""
		for pages := 1; ; pages++ {
			if pages > 10 {
				t.Fatal("the sweep does not end")
			}
			keys, next, _, err := s.DuePage(ctx, bucket, now, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, keys...)
			if len(keys) > 0 {
				if err := s.Hold(ctx, keys[:1], now); err != nil {
					t.Fatal(err)
				}
				if err := s.Delete(ctx, keys[1:]); err != nil {
					t.Fatal(err)
				}
				held = append(held, dsr.ProvenanceKey{SubjectKey: keys[0].SubjectKey, Entry: keys[0].Entry, Bucket: dynamo.HoldBucket(keys[0], now)})
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if diff := cmp.Diff(want, got, sortProvKeys); diff != "" {
			t.Errorf("swept (-want +got):\n%s", diff)
		}
		if left, _ := due(t, s, bucket, now, 10); len(left) != 0 {
			t.Errorf("left in %s: %+v", bucket, left)
		}
		tomorrow, _ := due(t, s, dynamo.ExpiryBucket(dynamo.ExpiryDay(now.AddDate(0, 0, 1)), shard), now.AddDate(0, 0, 1), 10)
		if diff := cmp.Diff(held, tomorrow, sortProvKeys); diff != "" {
			t.Errorf("held (-want +got):\n%s", diff)
		}
	})

	t.Run("entries are deleted by key", func(t *testing.T) {
		s := newStore(t)
		at := provBase.AddDate(0, 3, 0)
		now := at.AddDate(dsr.DefaultProvenanceYears, 0, 1)
		entries := []dsr.ProvenanceEntry{
			collected(newSubjectKey(), "billing", "CRM", at, 1),
			disclosed(newSubjectKey(), "billing", "Example Print GmbH", "DE", "", at),
			collected(newSubjectKey(), "marketing", "Trade fair", at, 1),
		}
		put(t, s, entries...)
		keys := []dsr.ProvenanceKey{keyOf(entries[0], dynamo.EntryBucket(entries[0])), keyOf(entries[1], dynamo.EntryBucket(entries[1]))}
		if err := s.Delete(ctx, keys); err != nil {
			t.Fatal(err)
		}
		for i, e := range entries {
			want := []dsr.ProvenanceEntry{e}
			if i < 2 {
				want = nil
			}
			if diff := cmp.Diff(want, subject(t, s, e.SubjectKey, "", time.Time{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("entry %d after the delete (-want +got):\n%s", i, diff)
			}
		}
		if got, _ := due(t, s, dynamo.EntryBucket(entries[2]), now, 10); !cmp.Equal([]dsr.ProvenanceKey{keyOf(entries[2], dynamo.EntryBucket(entries[2]))}, got) {
			t.Errorf("due after the delete: %+v", got)
		}
		if err := s.Delete(ctx, keys); err != nil {
			t.Errorf("deleting again: %v", err)
		}
		if err := s.Delete(ctx, nil); err != nil {
			t.Errorf("deleting nothing: %v", err)
		}
	})

	t.Run("a held entry moves to the next day's partition; a deleted one stays deleted", func(t *testing.T) {
		s := newStore(t)
		const shard = 3
		at := provBase.AddDate(0, 4, 0)
		now := at.AddDate(dsr.DefaultProvenanceYears, 0, 0).Add(6 * time.Hour)
		bucket := dynamo.ExpiryBucket(dynamo.ExpiryDay(now), shard)
		held := collected(newSubjectKey(), "billing", "CRM", at.Add(time.Hour), shard)
		gone := collected(newSubjectKey(), "billing", "CRM", at.Add(2*time.Hour), shard)
		put(t, s, held, gone)
		keys, _ := due(t, s, bucket, now, 10)
		if diff := cmp.Diff([]dsr.ProvenanceKey{keyOf(held, bucket), keyOf(gone, bucket)}, keys, sortProvKeys); diff != "" {
			t.Fatalf("due (-want +got):\n%s", diff)
		}
		if err := s.Delete(ctx, []dsr.ProvenanceKey{keyOf(gone, bucket)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Hold(ctx, keys, now); err != nil {
			t.Fatal(err)
		}
		if err := s.Hold(ctx, nil, now); err != nil {
			t.Errorf("holding nothing: %v", err)
		}
		if got, _ := due(t, s, bucket, now, 10); len(got) != 0 {
			t.Errorf("still due in %s: %+v", bucket, got)
		}
		next := dynamo.HoldBucket(keyOf(held, bucket), now)
		if next != dynamo.ExpiryBucket(dynamo.ExpiryDay(now.AddDate(0, 0, 1)), shard) {
			t.Fatalf("hold bucket %s", next)
		}
		tomorrow := now.AddDate(0, 0, 1)
		got, _ := due(t, s, next, tomorrow, 10)
		if diff := cmp.Diff([]dsr.ProvenanceKey{keyOf(held, next)}, got); diff != "" {
			t.Errorf("due tomorrow (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]dsr.ProvenanceEntry{held}, subject(t, s, held.SubjectKey, "", time.Time{})); diff != "" {
			t.Errorf("the held entry (-want +got):\n%s", diff)
		}
		if got := subject(t, s, gone.SubjectKey, "", time.Time{}); len(got) != 0 {
			t.Errorf("hold recreated a deleted entry: %+v", got)
		}
		// Held again the next day, it moves on again.
		if err := s.Hold(ctx, got, tomorrow); err != nil {
			t.Fatal(err)
		}
		after := dynamo.HoldBucket(keyOf(held, next), tomorrow)
		if left, _ := due(t, s, next, tomorrow, 10); len(left) != 0 {
			t.Errorf("still due in %s: %+v", next, left)
		}
		if got, _ := due(t, s, after, tomorrow.AddDate(0, 0, 1), 10); !cmp.Equal([]dsr.ProvenanceKey{keyOf(held, after)}, got) {
			t.Errorf("due the day after: %+v", got)
		}
	})

	t.Run("the retention checkpoint is versioned", func(t *testing.T) {
		s := newStore(t)
		cp, err := s.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(dsr.RetentionCheckpoint{}, cp); diff != "" {
			t.Errorf("before the first save (-want +got):\n%s", diff)
		}
		first := dsr.RetentionCheckpoint{
			Day: "2032-05-10", Position: dynamo.DuePosition(2, "eyJleHBpcnlCdWNrZXQiOiIyMDMyLTA1LTEwIzIifQ"),
			StrippedBefore: time.Date(2023, 11, 29, 11, 0, 0, 123_000_000, time.UTC),
		}
		if v, err := s.SaveCheckpoint(ctx, first); err != nil || v != 1 {
			t.Fatalf("first save: version %d, %v", v, err)
		}
		want := first
		want.Version = 1
		cp, err = s.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, cp); diff != "" {
			t.Errorf("after the first save (-want +got):\n%s", diff)
		}
		if _, err := s.SaveCheckpoint(ctx, first); dsr.ErrorCodeOf(err) != dsr.EConflict {
			t.Errorf("a second first save: %v", err)
		}
		// Two runs from version 1: one saves.
		second := dsr.RetentionCheckpoint{Day: "2032-05-11", Version: 1}
		var saved, refused atomic.Int32
		together(o, 3, func() {
			v, err := s.SaveCheckpoint(ctx, second)
			switch {
			case err == nil && v == 2:
				saved.Add(1)
			case dsr.ErrorCodeOf(err) == dsr.EConflict:
				refused.Add(1)
			default:
				t.Errorf("save from version 1: %d, %v", v, err)
			}
		})
		if saved.Load() != 1 || refused.Load() != 2 {
			t.Errorf("saves from version 1: %d saved, %d refused", saved.Load(), refused.Load())
		}
		stale := dsr.RetentionCheckpoint{Day: "2032-05-12", Version: 1}
		if _, err := s.SaveCheckpoint(ctx, stale); dsr.ErrorCodeOf(err) != dsr.EConflict {
			t.Errorf("a save from a stale version: %v", err)
		}
		want = second
		want.Version = 2
		cp, err = s.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, cp); diff != "" {
			t.Errorf("after the second save, cursor and time cleared (-want +got):\n%s", diff)
		}
	})
}

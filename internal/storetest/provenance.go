package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
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
	KeepUntil(ctx context.Context, subjectKey, purpose string, until, now time.Time) (int, error)
	Renew(ctx context.Context, keys []dsr.ProvenanceKey, years func(purpose string) int, now time.Time) ([]dsr.ProvenanceKey, error)
}

// RunProvenance runs the provenance store's contract against the store
// newStore returns: entries are stored once and read per subject and
// purpose as of a time; the expiry index gives a day's due keys page by
// page; held entries move to the next day's partition; the retention
// checkpoint is versioned. The concurrency cases run one call after another
// where the backend does not serialize conditional writes (o.Sequential).
// Every case keeps to subject keys and expiry days of its own (see
// provBase), and only one reads or writes the checkpoint, so they all run in
// parallel.
func RunProvenance(t *testing.T, newStore func(t *testing.T) ProvenanceStore, o Options) {
	cases := []struct {
		name string
		run  func(t *testing.T, s ProvenanceStore, o Options)
	}{
		{"PutStoresAnEntryOnce", putStoresAnEntryOnce},
		{"EventTimeKeepsItsMilliseconds", eventTimeKeepsItsMilliseconds},
		{"SubjectEntriesLiveAsOfATime", subjectEntriesLiveAsOfATime},
		{"DeleteSubjectPurposeExpiredToo", deleteSubjectPurposeExpiredToo},
		{"DuePartitionPageByPage", duePartitionPageByPage},
		{"SweepSeesEveryDueEntryOnce", sweepSeesEveryDueEntryOnce},
		{"DeleteByKey", deleteByKey},
		{"HeldEntryMovesToTheNextDay", heldEntryMovesToTheNextDay},
		{"KeepUntilLengthensOnlyLiveEarlierEntries", keepUntilLengthensOnlyLiveEarlierEntries},
		{"RenewGivesDueEntriesTheirPurposesYears", renewGivesDueEntriesTheirPurposesYears},
		{"CheckpointVersioned", checkpointVersioned},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t), o) })
	}
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

// disclosed is the entry of a "disclosed" event, with a transfer basis
// (a safeguard's where one is named), which the store keeps.
func disclosed(subjectKey, purpose, recipient, country, safeguard string, at time.Time) dsr.ProvenanceEntry {
	basis := dsr.TransferEEA
	if safeguard != "" {
		basis = dsr.TransferSafeguard
	}
	return dsr.NewProvenanceEntry(dsr.ProvenanceEvent{
		Purpose: purpose, Event: dsr.EventDisclosed, Recipient: recipient, Country: country, Safeguard: safeguard, TransferBasis: basis, At: at,
	}, subjectKey, dsr.DefaultProvenanceYears)
}

// keyOf is the key the expiry index returns for e in bucket: its sort key
// in the table is purpose#id.
func keyOf(e dsr.ProvenanceEntry, bucket string) dsr.ProvenanceKey {
	return dsr.ProvenanceKey{SubjectKey: e.SubjectKey, Purpose: e.Purpose, Entry: e.Purpose + "#" + e.ID, Bucket: bucket}
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

// putAll puts entries, stopping the case unless each is stored.
func putAll(t *testing.T, s ProvenanceStore, entries ...dsr.ProvenanceEntry) {
	t.Helper()
	for _, e := range entries {
		if ok, err := s.Put(t.Context(), e); err != nil || !ok {
			t.Fatalf("put %s/%s: stored %v, %v", e.Purpose, e.ID, ok, err)
		}
	}
}

// subjectEntries reads the subject's entries of purpose ("" every purpose)
// live as of asOf.
func subjectEntries(t *testing.T, s ProvenanceStore, key, purpose string, asOf time.Time) []dsr.ProvenanceEntry {
	t.Helper()
	got, err := s.Subject(t.Context(), key, purpose, asOf)
	must(t, err)
	return got
}

// dueKeys reads every page of bucket's due keys, limit at a time, and fails
// on a key returned twice, a page over the limit or fewer items read than
// keys returned. It returns the keys and the number of pages.
func dueKeys(t *testing.T, s ProvenanceStore, bucket string, now time.Time, limit int) ([]dsr.ProvenanceKey, int) {
	t.Helper()
	var all []dsr.ProvenanceKey
	seen := map[dsr.ProvenanceKey]bool{}
	cursor := ""
	for pages := 1; ; pages++ {
		if pages > 20 {
			t.Fatalf("due pages of %s do not end", bucket)
		}
		keys, next, read, err := s.DuePage(t.Context(), bucket, now, cursor, limit)
		must(t, err)
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

// putStoresAnEntryOnce: an entry is stored by its first put only, not by a second, by another entry under its id, or by more than one of concurrent deliveries.
func putStoresAnEntryOnce(t *testing.T, s ProvenanceStore, o Options) {
	t.Parallel()
	ctx, key := t.Context(), newSubjectKey()
	e := disclosed(key, "billing", "Example Print Inc.", "US", "SCC (EU) 2021/914", provBase.Add(9*time.Hour+30*time.Second))
	src := collected(key, "marketing", "Trade fair 2030", provBase.Add(10*time.Hour), -1)
	putAll(t, s, e, src)
	changed := e
	changed.Recipient, changed.Country = "Someone Else Ltd", "GB"
	var stored []bool
	for _, again := range []dsr.ProvenanceEntry{e, changed} {
		ok, err := s.Put(ctx, again)
		must(t, err)
		stored = append(stored, ok)
	}
	wantDiff(t, "stored by a second put, by another entry with the same id", []bool{false, false}, stored)
	// A redelivered event, several deliveries at once: stored by one.
	redelivered := collected(key, "billing", "CRM import", provBase.Add(11*time.Hour), -1)
	var storedBy atomic.Int32
	o.concurrently(4, func(int) {
		ok, err := s.Put(ctx, redelivered)
		if err != nil {
			t.Error(err)
		} else if ok {
			storedBy.Add(1)
		}
	})
	wantDiff(t, "parallel puts of one entry that stored it", int32(1), storedBy.Load())
	wantDiff(t, "entries", []dsr.ProvenanceEntry{e, src, redelivered}, subjectEntries(t, s, key, "", time.Time{}), sortProvEntries)
}

// eventTimeKeepsItsMilliseconds: an event's time keeps its milliseconds (an access report shows it); its expiry is kept to the second, the expiry index's unit.
func eventTimeKeepsItsMilliseconds(t *testing.T, s ProvenanceStore, _ Options) {
	t.Parallel()
	key := newSubjectKey()
	ms := collected(key, "billing", "CRM", provBase.Add(12*time.Hour+789*time.Millisecond), -1)
	putAll(t, s, ms)
	type stored struct {
		ID          string
		At          time.Time
		ExpiresUnix int64
	}
	var got []stored
	for _, e := range subjectEntries(t, s, key, "", time.Time{}) {
		got = append(got, stored{e.ID, e.At, e.ExpiresAt.Unix()})
	}
	wantDiff(t, "an event at "+ms.At.Format(time.RFC3339Nano), []stored{{ms.ID, ms.At, ms.ExpiresAt.Unix()}}, got)
}

// subjectEntriesLiveAsOfATime: a subject's entries of one purpose, or of all, are those not expired as of a time (every one as of time zero).
func subjectEntriesLiveAsOfATime(t *testing.T, s ProvenanceStore, _ Options) {
	t.Parallel()
	a, b := newSubjectKey(), newSubjectKey()
	asOf := provBase.AddDate(dsr.DefaultProvenanceYears, 0, 0)
	billing1 := collected(a, "billing", "CRM", provBase.Add(time.Second), -1) // expires a second after asOf
	billing2 := disclosed(a, "billing", "Example Print GmbH", "DE", "", provBase.Add(2*time.Hour))
	atAsOf := collected(a, "billing", "Old shop", provBase, -1) // expires at asOf
	expired := collected(a, "billing", "Older shop", provBase.Add(-time.Hour), -1)
	marketing := collected(a, "marketing", "Trade fair 2030", provBase.Add(3*time.Hour), -1)
	archive := collected(a, "billing_archive", "Archive", provBase.Add(4*time.Hour), -1) // a purpose named like another and more
	others := collected(b, "billing", "CRM", provBase.Add(time.Second), -1)
	putAll(t, s, billing1, billing2, atAsOf, expired, marketing, archive, others)
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
			wantDiff(t, "entries", tc.want, subjectEntries(t, s, tc.key, tc.purpose, tc.asOf), sortProvEntries, cmpopts.EquateEmpty())
		})
	}
}

// deleteSubjectPurposeExpiredToo: deleting a subject's purpose deletes each of its entries, expired ones too, from the table and the expiry index, and nothing else.
func deleteSubjectPurposeExpiredToo(t *testing.T, s ProvenanceStore, _ Options) {
	t.Parallel()
	ctx := t.Context()
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
	putAll(t, s, append(billing, marketing, archive, others)...)
	n, err := s.DeleteSubject(ctx, a, "billing")
	must(t, err)
	wantDiff(t, "deleted", len(billing), n)
	wantDiff(t, "left of a", []dsr.ProvenanceEntry{marketing, archive}, subjectEntries(t, s, a, "", time.Time{}), sortProvEntries, cmpopts.EquateEmpty())
	wantDiff(t, "left of b", []dsr.ProvenanceEntry{others}, subjectEntries(t, s, b, "", time.Time{}), sortProvEntries, cmpopts.EquateEmpty())
	n, err = s.DeleteSubject(ctx, a, "billing")
	must(t, err)
	wantDiff(t, "deleted again", 0, n)
	var stillDue []dsr.ProvenanceKey
	for _, e := range billing {
		keys, _ := dueKeys(t, s, dynamo.EntryBucket(e), e.ExpiresAt, 100)
		for _, k := range keys {
			if k.SubjectKey == a && strings.HasPrefix(k.Entry, "billing#") {
				stillDue = append(stillDue, k)
			}
		}
	}
	wantDiff(t, "deleted entries still due", []dsr.ProvenanceKey(nil), stillDue)
}

// partition is duePartitionPageByPage's entries: five due at now in bucket
// (two with the same expiry, one expiring at now), and around them one due
// a second after now, one in another shard and one due the day before.
type partition struct {
	at, now    time.Time
	bucket     string
	dueNow     []dsr.ProvenanceEntry
	otherShard dsr.ProvenanceEntry
}

func putPartition(t *testing.T, s ProvenanceStore) partition {
	const shard = 2
	at := provBase.AddDate(0, 2, 0)                                         // 2030-05-10
	now := at.AddDate(dsr.DefaultProvenanceYears, 0, 0).Add(12 * time.Hour) // 2032-05-10T12:00
	p := partition{at: at, now: now, bucket: dynamo.ExpiryBucket(dynamo.ExpiryDay(now), shard)}
	a, b, c, d := newSubjectKey(), newSubjectKey(), newSubjectKey(), newSubjectKey()
	p.dueNow = []dsr.ProvenanceEntry{
		collected(a, "billing", "CRM", at, shard),
		collected(b, "billing", "CRM", at, shard), // the same expiry as the first
		collected(a, "marketing", "Trade fair", at.Add(time.Hour), shard),
		collected(c, "billing", "Shop", at.Add(2*time.Hour), shard),
		collected(d, "billing", "Shop", at.Add(12*time.Hour), shard), // expires at now
	}
	notYet := collected(d, "marketing", "Shop", at.Add(12*time.Hour+time.Second), shard)
	p.otherShard = collected(a, "newsletter", "Sign-up", at.Add(time.Hour), (shard+1)%dynamo.ProvenanceShards)
	dayBefore := collected(b, "marketing", "Sign-up", at.AddDate(0, 0, -1), shard)
	putAll(t, s, append(p.dueNow, notYet, p.otherShard, dayBefore)...)
	return p
}

// duePartitionPageByPage: a day's partition gives exactly its due keys, oldest expiry first, page by page or in one page; none before the first expiry; another shard's partition its own.
func duePartitionPageByPage(t *testing.T, s ProvenanceStore, _ Options) {
	t.Parallel()
	ctx, p := t.Context(), putPartition(t, s)
	var want []dsr.ProvenanceKey
	var buckets []string
	expiry := map[dsr.ProvenanceKey]time.Time{}
	for _, e := range p.dueNow {
		want, buckets = append(want, keyOf(e, p.bucket)), append(buckets, dynamo.EntryBucket(e))
		expiry[keyOf(e, p.bucket)] = e.ExpiresAt
	}
	if diff := cmp.Diff(slices.Repeat([]string{p.bucket}, len(p.dueNow)), buckets); diff != "" {
		t.Fatalf("partitions of the entries due (-want +got):\n%s", diff)
	}
	got, pages := dueKeys(t, s, p.bucket, p.now, 2)
	wantDiff(t, "due keys", want, got, sortProvKeys)
	if pages < 3 {
		t.Errorf("%d due keys in %d pages of 2, want 3 pages or more", len(got), pages)
	}
	var expiries []time.Time
	for _, k := range got {
		expiries = append(expiries, expiry[k])
	}
	wantDiff(t, "expiries, as read", slices.SortedFunc(slices.Values(expiries), time.Time.Compare), expiries)
	keys, _, read, err := s.DuePage(ctx, p.bucket, p.now, "", 100)
	must(t, err)
	wantDiff(t, "one page as large as the partition", want, keys, sortProvKeys)
	if read < len(keys) {
		t.Errorf("one page: %d items read for %d keys", read, len(keys))
	}
	type page struct {
		Keys []dsr.ProvenanceKey
		Next string
	}
	keys, next, _, err := s.DuePage(ctx, p.bucket, p.at.AddDate(dsr.DefaultProvenanceYears, 0, 0).Add(-time.Second), "", 2)
	must(t, err)
	wantDiff(t, "before the first expiry", page{}, page{keys, next}, cmpopts.EquateEmpty())
	other, _ := dueKeys(t, s, dynamo.ExpiryBucket(dynamo.ExpiryDay(p.now), dynamo.ExpiryShard(p.otherShard)), p.now, 2)
	wantDiff(t, "the other shard", []dsr.ProvenanceKey{keyOf(p.otherShard, dynamo.EntryBucket(p.otherShard))}, other)
}

// sweepSeesEveryDueEntryOnce: a sweep that deletes or holds each page before reading the next (the retention job's pattern: the next page's cursor names a key the last page deleted or moved) sees every due entry once.
func sweepSeesEveryDueEntryOnce(t *testing.T, s ProvenanceStore, _ Options) {
	t.Parallel()
	ctx := t.Context()
	const shard = 0
	at := provBase.AddDate(0, 5, 0) // 2030-08-10
	now := at.AddDate(dsr.DefaultProvenanceYears, 0, 0).Add(23 * time.Hour)
	bucket := dynamo.ExpiryBucket(dynamo.ExpiryDay(now), shard)
	var want []dsr.ProvenanceKey
	for i := range 7 {
		e := collected(newSubjectKey(), "billing", "CRM", at.Add(time.Duration(i/2)*time.Hour), shard) // two at each expiry
		putAll(t, s, e)
		want = append(want, keyOf(e, bucket))
	}
	var got, held []dsr.ProvenanceKey
	for cursor, pages := "", 1; ; pages++ {
		if pages > 10 {
			t.Fatal("the sweep does not end")
		}
		keys, next, _, err := s.DuePage(ctx, bucket, now, cursor, 2)
		must(t, err)
		got = append(got, keys...)
		if len(keys) > 0 {
			must(t, s.Hold(ctx, keys[:1], now))
			must(t, s.Delete(ctx, keys[1:]))
			held = append(held, dsr.ProvenanceKey{SubjectKey: keys[0].SubjectKey, Purpose: keys[0].Purpose, Entry: keys[0].Entry, Bucket: dynamo.HoldBucket(keys[0], now)})
		}
		if next == "" {
			break
		}
		cursor = next
	}
	wantDiff(t, "swept", want, got, sortProvKeys)
	left, _ := dueKeys(t, s, bucket, now, 10)
	wantDiff(t, "left in "+bucket, []dsr.ProvenanceKey(nil), left, cmpopts.EquateEmpty())
	tomorrow, _ := dueKeys(t, s, dynamo.ExpiryBucket(dynamo.ExpiryDay(now.AddDate(0, 0, 1)), shard), now.AddDate(0, 0, 1), 10)
	wantDiff(t, "held", held, tomorrow, sortProvKeys)
}

// deleteByKey: entries are deleted by their keys, from the table and the expiry index; deleting again, or nothing, succeeds.
func deleteByKey(t *testing.T, s ProvenanceStore, _ Options) {
	t.Parallel()
	ctx := t.Context()
	at := provBase.AddDate(0, 3, 0)
	now := at.AddDate(dsr.DefaultProvenanceYears, 0, 1)
	entries := []dsr.ProvenanceEntry{
		collected(newSubjectKey(), "billing", "CRM", at, 1),
		disclosed(newSubjectKey(), "billing", "Example Print GmbH", "DE", "", at),
		collected(newSubjectKey(), "marketing", "Trade fair", at, 1),
	}
	putAll(t, s, entries...)
	keys := []dsr.ProvenanceKey{keyOf(entries[0], dynamo.EntryBucket(entries[0])), keyOf(entries[1], dynamo.EntryBucket(entries[1]))}
	must(t, s.Delete(ctx, keys))
	for i, e := range entries {
		want := []dsr.ProvenanceEntry{e}
		if i < 2 {
			want = nil
		}
		wantDiff(t, fmt.Sprintf("entry %d after the delete", i), want, subjectEntries(t, s, e.SubjectKey, "", time.Time{}), cmpopts.EquateEmpty())
	}
	got, _ := dueKeys(t, s, dynamo.EntryBucket(entries[2]), now, 10)
	wantDiff(t, "due after the delete", []dsr.ProvenanceKey{keyOf(entries[2], dynamo.EntryBucket(entries[2]))}, got)
	wantCode(t, "deleting again", s.Delete(ctx, keys), noError)
	wantCode(t, "deleting nothing", s.Delete(ctx, nil), noError)
}

// heldEntryMovesToTheNextDay: a held entry moves to the next day's partition, and on again when held again; an entry deleted before the hold stays deleted.
func heldEntryMovesToTheNextDay(t *testing.T, s ProvenanceStore, _ Options) {
	t.Parallel()
	ctx := t.Context()
	const shard = 3
	at := provBase.AddDate(0, 4, 0)
	now := at.AddDate(dsr.DefaultProvenanceYears, 0, 0).Add(6 * time.Hour)
	tomorrow, bucket := now.AddDate(0, 0, 1), dynamo.ExpiryBucket(dynamo.ExpiryDay(now), shard)
	held := collected(newSubjectKey(), "billing", "CRM", at.Add(time.Hour), shard)
	gone := collected(newSubjectKey(), "billing", "CRM", at.Add(2*time.Hour), shard)
	putAll(t, s, held, gone)
	keys, _ := dueKeys(t, s, bucket, now, 10)
	if diff := cmp.Diff([]dsr.ProvenanceKey{keyOf(held, bucket), keyOf(gone, bucket)}, keys, sortProvKeys); diff != "" {
		t.Fatalf("due (-want +got):\n%s", diff)
	}
	must(t, s.Delete(ctx, []dsr.ProvenanceKey{keyOf(gone, bucket)}))
	must(t, s.Hold(ctx, keys, now))
	wantCode(t, "holding nothing", s.Hold(ctx, nil, now), noError)
	left, _ := dueKeys(t, s, bucket, now, 10)
	wantDiff(t, "still due in "+bucket, []dsr.ProvenanceKey(nil), left, cmpopts.EquateEmpty())
	next := dynamo.HoldBucket(keyOf(held, bucket), now)
	if want := dynamo.ExpiryBucket(dynamo.ExpiryDay(tomorrow), shard); next != want {
		t.Fatalf("hold bucket %s, want %s", next, want)
	}
	got, _ := dueKeys(t, s, next, tomorrow, 10)
	wantDiff(t, "due tomorrow", []dsr.ProvenanceKey{keyOf(held, next)}, got)
	wantDiff(t, "the held entry", []dsr.ProvenanceEntry{held}, subjectEntries(t, s, held.SubjectKey, "", time.Time{}))
	wantDiff(t, "the deleted entry, after the hold", []dsr.ProvenanceEntry(nil), subjectEntries(t, s, gone.SubjectKey, "", time.Time{}), cmpopts.EquateEmpty())
	// Held again the next day, it moves on again.
	must(t, s.Hold(ctx, got, tomorrow))
	after := dynamo.HoldBucket(keyOf(held, next), tomorrow)
	left, _ = dueKeys(t, s, next, tomorrow, 10)
	wantDiff(t, "still due in "+next, []dsr.ProvenanceKey(nil), left, cmpopts.EquateEmpty())
	got, _ = dueKeys(t, s, after, tomorrow.AddDate(0, 0, 1), 10)
	wantDiff(t, "due the day after", []dsr.ProvenanceKey{keyOf(held, after)}, got)
}

// mustCheckpoint reads the retention checkpoint.
func mustCheckpoint(t *testing.T, s ProvenanceStore) dsr.RetentionCheckpoint {
	t.Helper()
	cp, err := s.Checkpoint(t.Context())
	must(t, err)
	return cp
}

// checkpointVersioned: the retention checkpoint is saved only from the version stored, by one of concurrent savers, and reads back as saved (zero before the first save).
func checkpointVersioned(t *testing.T, s ProvenanceStore, o Options) {
	t.Parallel()
	ctx := t.Context()
	wantDiff(t, "before the first save", dsr.RetentionCheckpoint{}, mustCheckpoint(t, s))
	first := dsr.RetentionCheckpoint{
		Day: "2032-05-10", Position: dynamo.DuePosition(2, "eyJleHBpcnlCdWNrZXQiOiIyMDMyLTA1LTEwIzIifQ"),
		StrippedBefore:  time.Date(2023, 11, 29, 11, 0, 0, 123_000_000, time.UTC),
		ForgottenBefore: time.Date(2026, 11, 29, 11, 0, 0, 456_000_000, time.UTC), ForgetCursor: "eyJpZCI6IjAxSkQifQ",
	}
	if v, err := s.SaveCheckpoint(ctx, first); err != nil || v != 1 {
		t.Fatalf("first save: version %d, %v; want 1", v, err)
	}
	want := first
	want.Version = 1
	wantDiff(t, "after the first save", want, mustCheckpoint(t, s))
	_, err := s.SaveCheckpoint(ctx, first)
	wantCode(t, "a second first save", err, dsr.EConflict)
	// Three runs from version 1: one saves.
	second := dsr.RetentionCheckpoint{Day: "2032-05-11", Version: 1}
	var saved, refused atomic.Int32
	o.concurrently(3, func(int) {
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
	type counts struct{ Saved, Refused int32 }
	wantDiff(t, "saves from version 1", counts{1, 2}, counts{saved.Load(), refused.Load()})
	_, err = s.SaveCheckpoint(ctx, dsr.RetentionCheckpoint{Day: "2032-05-12", Version: 1})
	wantCode(t, "a save from a stale version", err, dsr.EConflict)
	want = second
	want.Version = 2
	wantDiff(t, "after the second save, cursor and time cleared", want, mustCheckpoint(t, s))
}

// keepUntilLengthensOnlyLiveEarlierEntries: KeepUntil moves the live
// entries of the subject's purpose that expire earlier to until, into that
// day's partition of the expiry index (the same shard); later entries,
// expired ones, another purpose's and another subject's stay; repeated, it
// moves nothing.
func keepUntilLengthensOnlyLiveEarlierEntries(t *testing.T, s ProvenanceStore, _ Options) {
	t.Parallel()
	ctx := t.Context()
	a, b := newSubjectKey(), newSubjectKey()
	at := provBase.AddDate(0, 6, 0)
	now := at.AddDate(1, 0, 0)
	until := at.AddDate(dsr.DefaultProvenanceYears+3, 0, 0)
	early := collected(a, "billing", "shop", at, 1)
	recipient := disclosed(a, "billing", "Tax Advisers LLP", "GB", "", at.Add(time.Hour))
	expired := collected(a, "billing", "old shop", at.AddDate(-2, 0, -1), -1)
	later := collected(a, "billing", "later shop", at, -1)
	later.ExpiresAt = until.AddDate(1, 0, 0)
	other := collected(a, "marketing", "fair", at, -1)
	others := collected(b, "billing", "shop", at, -1)
	putAll(t, s, early, recipient, expired, later, other, others)
	n, err := s.KeepUntil(ctx, a, "billing", until, now)
	must(t, err)
	if n != 2 {
		t.Errorf("moved %d entries, want 2 (the live ones expiring before until)", n)
	}
	keptEarly, keptRecipient := early, recipient
	keptEarly.ExpiresAt, keptRecipient.ExpiresAt = until, until
	wantDiff(t, "the subject's billing entries", []dsr.ProvenanceEntry{keptEarly, keptRecipient, expired, later},
		subjectEntries(t, s, a, "billing", time.Time{}), sortProvEntries)
	wantDiff(t, "live after their old expiry", []dsr.ProvenanceEntry{keptEarly, keptRecipient, later},
		subjectEntries(t, s, a, "billing", early.ExpiresAt), sortProvEntries)
	wantDiff(t, "another purpose", []dsr.ProvenanceEntry{other}, subjectEntries(t, s, a, "marketing", time.Time{}))
	wantDiff(t, "another subject", []dsr.ProvenanceEntry{others}, subjectEntries(t, s, b, "", time.Time{}))
	// The sweep finds them on until's day, not on their old one.
	old := dynamo.ExpiryBucket(dynamo.ExpiryDay(early.ExpiresAt), 1)
	due, _ := dueKeys(t, s, old, early.ExpiresAt.Add(time.Hour), 10)
	for _, k := range due {
		if k.SubjectKey == a && k.Purpose == "billing" {
			t.Errorf("still due on the old day: %+v", k)
		}
	}
	var want, got []dsr.ProvenanceKey
	for shard := range dynamo.ProvenanceShards {
		bucket := dynamo.ExpiryBucket(dynamo.ExpiryDay(until), shard)
		for _, e := range []dsr.ProvenanceEntry{early, recipient} {
			if dynamo.ExpiryShard(e) == shard {
				want = append(want, keyOf(e, bucket))
			}
		}
		keys, _ := dueKeys(t, s, bucket, until, 10)
		for _, k := range keys {
			if k.SubjectKey == a && k.Purpose == "billing" {
				got = append(got, k)
			}
		}
	}
	wantDiff(t, "due on until's day", want, got, sortProvKeys)
	if n, err := s.KeepUntil(ctx, a, "billing", until, now); err != nil || n != 0 {
		t.Errorf("again: moved %d, %v; want 0", n, err)
	}
	if n, err := s.KeepUntil(ctx, a, "billing", until.AddDate(0, 0, -1), now); err != nil || n != 0 {
		t.Errorf("an earlier until: moved %d, %v; want 0 (never shortened)", n, err)
	}
}

// renewGivesDueEntriesTheirPurposesYears: Renew moves a due entry whose
// purpose now keeps it longer to its new expiry's day (out of the due
// partition) and returns its key; an entry whose years give no later
// expiry, or none after now, and an entry gone, stay as they are.
func renewGivesDueEntriesTheirPurposesYears(t *testing.T, s ProvenanceStore, _ Options) {
	t.Parallel()
	ctx := t.Context()
	const shard = 2
	at := provBase.AddDate(0, 8, 0)
	now := at.AddDate(dsr.DefaultProvenanceYears, 0, 0).Add(time.Hour)
	bucket := dynamo.ExpiryBucket(dynamo.ExpiryDay(now), shard)
	long := collected(newSubjectKey(), "billing", "shop", at, shard)
	short := collected(newSubjectKey(), "marketing", "fair", at, shard)
	gone := collected(newSubjectKey(), "billing", "gone", at, shard)
	putAll(t, s, long, short, gone)
	must(t, s.Delete(ctx, []dsr.ProvenanceKey{keyOf(gone, bucket)}))
	years := func(purpose string) int {
		if purpose == "billing" {
			return 9
		}
		return dsr.DefaultProvenanceYears
	}
	keys := []dsr.ProvenanceKey{keyOf(long, bucket), keyOf(short, bucket), keyOf(gone, bucket)}
	renewed, err := s.Renew(ctx, keys, years, now)
	must(t, err)
	wantDiff(t, "renewed", []dsr.ProvenanceKey{keyOf(long, bucket)}, renewed)
	kept := long
	kept.ExpiresAt = at.AddDate(9, 0, 0)
	wantDiff(t, "the renewed entry", []dsr.ProvenanceEntry{kept}, subjectEntries(t, s, long.SubjectKey, "", time.Time{}))
	wantDiff(t, "the other", []dsr.ProvenanceEntry{short}, subjectEntries(t, s, short.SubjectKey, "", time.Time{}))
	due, _ := dueKeys(t, s, bucket, now, 10)
	for _, k := range due {
		if k.SubjectKey == long.SubjectKey {
			t.Errorf("the renewed entry is still due today: %+v", k)
		}
	}
	later := dynamo.ExpiryBucket(dynamo.ExpiryDay(kept.ExpiresAt), shard)
	due, _ = dueKeys(t, s, later, kept.ExpiresAt, 10)
	wantDiff(t, "due on its new day", []dsr.ProvenanceKey{keyOf(long, later)}, due)
	if again, err := s.Renew(ctx, []dsr.ProvenanceKey{keyOf(long, later)}, years, now); err != nil || len(again) != 0 {
		t.Errorf("renewed again: %v, %v", again, err)
	}
	if none, err := s.Renew(ctx, nil, years, now); err != nil || len(none) != 0 {
		t.Errorf("renewing nothing: %v, %v", none, err)
	}
}

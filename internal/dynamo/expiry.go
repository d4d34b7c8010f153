package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// The provenance table's expiry index (ExpiryIndex) lists each entry under
// its expiry day and one of ProvenanceShards shards (the partition key
// "expiryBucket", "2006-01-02#<shard>"), sorted by its expiry ("expiresAt"):
// the retention job reads a day's due entries shard by shard (Due), never
// scanning the table. The in-memory store (package memstore) keeps the
// same layout with these functions.

// ProvenanceShards spreads each expiry day of the index over this many
// partitions, so that one day's writes and deletes do not all go to one
// partition. Due reads every shard of a day.
const ProvenanceShards = 4

// TTLBackstop is how long after an entry's expiry the table's time to live
// ("ttl") deletes it if the retention job has not: long enough for the job
// to hold the entries of a subject with an open request first.
const TTLBackstop = 3 * 24 * time.Hour

// HoldBackstop is how long after the retention job last held an entry the
// table's time to live deletes it if the job stops running.
const HoldBackstop = 30 * 24 * time.Hour

// ExpiryDay is the UTC calendar day of t, as the expiry index names it.
func ExpiryDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// ExpiryBucket names the index partition of day and shard.
func ExpiryBucket(day string, shard int) string { return fmt.Sprintf("%s#%d", day, shard) }

// ExpiryShard is the expiry index shard of entry e, from its id.
func ExpiryShard(e dsr.ProvenanceEntry) int {
	if e.ID == "" {
		return 0
	}
	n := strings.IndexByte("0123456789abcdef", e.ID[0])
	return max(n, 0) % ProvenanceShards
}

// EntryBucket is the expiry index partition entry e starts in.
func EntryBucket(e dsr.ProvenanceEntry) string {
	return ExpiryBucket(ExpiryDay(e.ExpiresAt), ExpiryShard(e))
}

// HoldBucket is the expiry index partition a held entry moves to: the same
// shard on the day after now, so that the job looks at it again tomorrow.
func HoldBucket(k dsr.ProvenanceKey, now time.Time) string {
	_, shard, _ := strings.Cut(k.Bucket, "#")
	return ExpiryDay(now.AddDate(0, 0, 1)) + "#" + shard
}

// DuePosition is the position Due reads from: the page of shard's partition
// that cursor (a DuePage cursor, "" for the first page) starts. The first
// page of shard 0 is "", where every day starts.
func DuePosition(shard int, cursor string) string {
	if shard == 0 && cursor == "" {
		return ""
	}
	return strconv.Itoa(shard) + ":" + cursor
}

// parseDuePosition is the shard and cursor of a DuePosition.
func parseDuePosition(p string) (shard int, cursor string, err error) {
	if p == "" {
		return 0, "", nil
	}
	s, cursor, ok := strings.Cut(p, ":")
	shard, err = strconv.Atoi(s)
	if !ok || err != nil || shard < 0 || shard >= ProvenanceShards || s != strconv.Itoa(shard) {
		return 0, "", fmt.Errorf("%q is not a position of the expiry index", p)
	}
	return shard, cursor, nil
}

// DuePageFunc reads one page of an expiry index partition's due keys
// (Provenance.DuePage).
type DuePageFunc func(ctx context.Context, bucket string, now time.Time, cursor string, limit int) ([]dsr.ProvenanceKey, string, int, error)

// DueInDay is Due over page: the page at position of day's due keys, the
// position of the next page (the next shard's first page after a shard's
// last; "" after the last shard's last), and how many index items it read.
func DueInDay(ctx context.Context, page DuePageFunc, day, position string, now time.Time, limit int) ([]dsr.ProvenanceKey, string, int, error) {
	shard, cursor, err := parseDuePosition(position)
	if err != nil {
		return nil, "", 0, fmt.Errorf("due provenance: %w", err)
	}
	keys, next, read, err := page(ctx, ExpiryBucket(day, shard), now, cursor, limit)
	switch {
	case err != nil:
		return nil, "", 0, err
	case next != "":
		return keys, DuePosition(shard, next), read, nil
	case shard+1 < ProvenanceShards:
		return keys, DuePosition(shard+1, ""), read, nil
	}
	return keys, "", read, nil
}

// Due returns a page of the keys of the entries that expire on day (a UTC
// date, 2006-01-02) and are due at now, from position ("" for the day's
// first page), the position of the next page ("" once the day is read),
// and how many index items the page read: the retention job's sweep.
func (s *Provenance) Due(ctx context.Context, day, position string, now time.Time, limit int) ([]dsr.ProvenanceKey, string, int, error) {
	return DueInDay(ctx, s.DuePage, day, position, now, limit)
}

// toCheckpointItem is cp as stored: its position in the day as the shard
// and the cursor in it, a swept day as the shard after the last.
func toCheckpointItem(cp dsr.RetentionCheckpoint) (checkpointItem, error) {
	it := checkpointItem{
		Phase: cp.Phase, Day: cp.Day, StrippedBefore: formatTime(cp.StrippedBefore),
		StripStatus: cp.StripStatus, StripCursor: cp.StripCursor, Version: cp.Version, RestrictionMonth: cp.RestrictionMonth,
		ForgottenBefore: formatTime(cp.ForgottenBefore), ForgetCursor: cp.ForgetCursor,
	}
	if cp.DaySwept {
		if cp.Position != "" {
			return checkpointItem{}, fmt.Errorf("a swept day has no position (%q)", cp.Position)
		}
		it.Shard = ProvenanceShards
		return it, nil
	}
	var err error
	it.Shard, it.Cursor, err = parseDuePosition(cp.Position)
	return it, err
}

func fromCheckpointItem(it checkpointItem) (dsr.RetentionCheckpoint, error) {
	stripped, err := parseTime(it.StrippedBefore)
	if err != nil {
		return dsr.RetentionCheckpoint{}, err
	}
	forgotten, err := parseTime(it.ForgottenBefore)
	if err != nil {
		return dsr.RetentionCheckpoint{}, err
	}
	cp := dsr.RetentionCheckpoint{
		Phase: it.Phase, Day: it.Day, StrippedBefore: stripped,
		StripStatus: it.StripStatus, StripCursor: it.StripCursor, Version: it.Version, RestrictionMonth: it.RestrictionMonth,
		ForgottenBefore: forgotten, ForgetCursor: it.ForgetCursor,
	}
	if it.Shard >= ProvenanceShards {
		cp.DaySwept = true
	} else {
		cp.Position = DuePosition(it.Shard, it.Cursor)
	}
	return cp, nil
}

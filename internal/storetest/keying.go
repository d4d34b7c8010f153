package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
)

// KeyingStore is the keying table's contract: unkeyable records and their
// daily count, backfill passes (versioned) and segment checkpoints, and
// which purposes are keyed.
type KeyingStore interface {
	Unkeyable(ctx context.Context, purpose, ref, reason string, at time.Time) (bool, error)
	UnkeyableDigest(ctx context.Context, day string) (map[string]int, error)
	Pass(ctx context.Context, purpose string) (dsr.BackfillPass, error)
	SavePass(ctx context.Context, p dsr.BackfillPass) (dsr.BackfillPass, error)
	Segment(ctx context.Context, purpose string, i int) (dsr.BackfillSegment, error)
	SaveSegment(ctx context.Context, purpose string, s dsr.BackfillSegment) error
	Keyed(ctx context.Context, purposes []string) (map[string]bool, error)
}

// RunKeying runs the keying table's contract against the store newStore
// returns. Its cases keep to purposes of their own but run one after
// another: the DynamoDB adapter counts an unkeyable record in a
// transaction, and moto rolls a cancelled one back by restoring a copy of
// the whole table, which would undo another case's writes made meanwhile.
func RunKeying(t *testing.T, newStore func(t *testing.T) KeyingStore) {
	cases := []struct {
		name string
		run  func(t *testing.T, s KeyingStore)
	}{
		{"UnkeyableCountedOnceOnTheDayFirstFound", unkeyableCountedOnceOnTheDayFirstFound},
		{"CompletePassKeysItsPurpose", completePassKeysItsPurpose},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t)) })
	}
}

var keyingAt = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func newPurpose() string { return fmt.Sprintf("p%d", seq.Add(1)) }

// unkeyableCountedOnceOnTheDayFirstFound: an unkeyable record is counted once, on the day it is first found.
func unkeyableCountedOnceOnTheDayFirstFound(t *testing.T, s KeyingStore) {
	ctx, p := t.Context(), newPurpose()
	var firsts []bool
	for _, ref := range []string{"r1", "r1", "r2"} {
		first, err := s.Unkeyable(ctx, p, ref, dsr.UnkeyableInvalid, keyingAt)
		must(t, err)
		firsts = append(firsts, first)
	}
	wantDiff(t, "first found", []bool{true, false, true}, firsts)
	got, err := s.UnkeyableDigest(ctx, "2026-12-01")
	must(t, err)
	wantDiff(t, "the day's count of "+p, 2, got[p])
}

// completePassKeysItsPurpose: a purpose's backfill pass starts once (versioned), its segments checkpoint, and only its completion keys the purpose.
func completePassKeysItsPurpose(t *testing.T, s KeyingStore) {
	ctx, p, at := t.Context(), newPurpose(), keyingAt
	zero, err := s.Pass(ctx, p)
	must(t, err)
	if diff := cmp.Diff(passState{}, stateOf(zero)); diff != "" {
		t.Fatalf("no pass yet (-want +got):\n%s", diff)
	}
	pass, err := s.SavePass(ctx, dsr.BackfillPass{Purpose: p, StartedAt: at, Segments: 4})
	must(t, err)
	_, err = s.SavePass(ctx, dsr.BackfillPass{Purpose: p, StartedAt: at.Add(time.Hour), Segments: 4})
	wantCode(t, "a second new pass", err, dsr.EConflict)
	seg := dsr.BackfillSegment{Segment: 2, Pass: at, Cursor: "c", Scanned: 500, Keyed: 3, Unkeyable: 1}
	must(t, s.SaveSegment(ctx, p, seg))
	got, err := s.Segment(ctx, p, 2)
	must(t, err)
	wantDiff(t, "segment 2", seg, got)
	never, err := s.Segment(ctx, p, 3)
	must(t, err)
	type segment struct {
		Segment int
		Cursor  string
		Pass    time.Time
	}
	wantDiff(t, "a segment never saved", segment{Segment: 3}, segment{never.Segment, never.Cursor, never.Pass})
	keyed, err := s.Keyed(ctx, []string{p})
	must(t, err)
	wantDiff(t, "keyed before completion", false, keyed[p])
	pass.CompletedAt = at.Add(time.Minute)
	_, err = s.SavePass(ctx, pass)
	must(t, err)
	done, err := s.Pass(ctx, p)
	must(t, err)
	wantDiff(t, "the completed pass", passState{StartedAt: at, Complete: true, Segments: 4}, stateOf(done))
	keyed, err = s.Keyed(ctx, []string{p, "never-backfilled"})
	must(t, err)
	wantDiff(t, "keyed", map[string]bool{p: true}, keyed)
}

// passState is what the keying case checks of a pass.
type passState struct {
	StartedAt time.Time
	Complete  bool
	Segments  int
}

func stateOf(p dsr.BackfillPass) passState {
	return passState{StartedAt: p.StartedAt, Complete: p.Complete(), Segments: p.Segments}
}

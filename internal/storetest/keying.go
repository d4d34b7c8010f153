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
// returns.
func RunKeying(t *testing.T, newStore func(t *testing.T) KeyingStore) {
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	purpose := func() string { return fmt.Sprintf("p%d", seq.Add(1)) }

	t.Run("an unkeyable record is counted once, on the day it is first found", func(t *testing.T) {
		s, p := newStore(t), purpose()
		var firsts []bool
		for _, ref := range []string{"r1", "r1", "r2"} {
			first, err := s.Unkeyable(ctx, p, ref, dsr.UnkeyableInvalid, at)
			if err != nil {
				t.Fatal(err)
			}
			firsts = append(firsts, first)
		}
		if diff := cmp.Diff([]bool{true, false, true}, firsts); diff != "" {
			t.Errorf("first (-want +got):\n%s", diff)
		}
		got, err := s.UnkeyableDigest(ctx, "2026-12-01")
		if err != nil || got[p] != 2 {
			t.Errorf("digest %v %v, want %s: 2", got, err, p)
		}
	})

	t.Run("passes are versioned; segments checkpoint; a complete pass keys its purpose", func(t *testing.T) {
		s, p := newStore(t), purpose()
		zero, err := s.Pass(ctx, p)
		if err != nil || zero.Segments != 0 || zero.Complete() {
			t.Fatalf("no pass yet: %+v %v", zero, err)
		}
		pass, err := s.SavePass(ctx, dsr.BackfillPass{Purpose: p, StartedAt: at, Segments: 4})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SavePass(ctx, dsr.BackfillPass{Purpose: p, StartedAt: at.Add(time.Hour), Segments: 4}); dsr.ErrorCodeOf(err) != dsr.EConflict {
			t.Errorf("a second new pass: %v, want conflict", err)
		}
		seg := dsr.BackfillSegment{Segment: 2, Pass: at, Cursor: "c", Scanned: 500, Keyed: 3, Unkeyable: 1}
		if err := s.SaveSegment(ctx, p, seg); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Segment(ctx, p, 2); err != nil || !cmp.Equal(seg, got) {
			t.Errorf("segment %+v %v, want %+v", got, err, seg)
		}
		if got, err := s.Segment(ctx, p, 3); err != nil || got.Segment != 3 || got.Cursor != "" || !got.Pass.IsZero() {
			t.Errorf("a segment never saved: %+v %v", got, err)
		}
		if keyed, err := s.Keyed(ctx, []string{p}); err != nil || keyed[p] {
			t.Errorf("keyed before completion: %v %v", keyed, err)
		}
		pass.CompletedAt = at.Add(time.Minute)
		if _, err := s.SavePass(ctx, pass); err != nil {
			t.Fatal(err)
		}
		got, err := s.Pass(ctx, p)
		if err != nil || !got.StartedAt.Equal(at) || !got.Complete() || got.Segments != 4 {
			t.Errorf("pass %+v %v", got, err)
		}
		if keyed, err := s.Keyed(ctx, []string{p, "never-backfilled"}); err != nil || !cmp.Equal(map[string]bool{p: true}, keyed) {
			t.Errorf("keyed %v %v", keyed, err)
		}
	})
}

package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
	"github.com/privacyops/dsr/internal/dynamo"
)

func TestExpiryBucket(t *testing.T) {
	ev := dsr.ProvenanceEvent{Email: "ada@example.com", Purpose: "marketing", Event: dsr.EventCollected, Source: "fair",
		At: time.Date(2024, 2, 29, 10, 0, 0, 0, time.UTC)}
	e := dsr.NewProvenanceEntry(ev, "KEY", 2)
	shard := dynamo.ExpiryShard(e)
	if b := dynamo.EntryBucket(e); b != "2026-03-01#"+string("0123"[shard]) || shard < 0 || shard >= dynamo.ProvenanceShards {
		t.Errorf("bucket %q, shard %d", b, shard)
	}
	// The shard is the id's first hex digit, modulo the shards.
	for id, want := range map[string]int{"": 0, "0f": 0, "3a": 3, "4b": 0, "9c": 1, "fd": 3} {
		if got := dynamo.ExpiryShard(dsr.ProvenanceEntry{ID: id}); got != want {
			t.Errorf("shard of id %q: %d, want %d", id, got, want)
		}
	}
	k := dsr.ProvenanceKey{SubjectKey: "s", Entry: "p#id", Bucket: "2026-03-01#2"}
	if got := dynamo.HoldBucket(k, time.Date(2026, 3, 4, 23, 59, 0, 0, time.UTC)); got != "2026-03-05#2" {
		t.Errorf("hold bucket %q", got)
	}
}

// TestDueInDay walks a day's partitions as the retention job does: every
// page of shard 0, then of each shard after it, and "" after the last.
func TestDueInDay(t *testing.T) {
	var asked []string
	pages := map[string]string{"2026-03-01#1:": "c1", "2026-03-01#1:c1": ""} // shard 1 has two pages
	page := func(_ context.Context, bucket string, now time.Time, cursor string, limit int) ([]dsr.ProvenanceKey, string, int, error) {
		asked = append(asked, bucket+":"+cursor)
		return []dsr.ProvenanceKey{{Bucket: bucket}}, pages[bucket+":"+cursor], 1, nil
	}
	var positions []string
	for pos, n := "", 0; ; n++ {
		if n > 10 {
			t.Fatal("the day does not end")
		}
		keys, next, read, err := dynamo.DueInDay(context.Background(), page, "2026-03-01", pos, time.Now(), 10)
		if err != nil || len(keys) != 1 || read != 1 {
			t.Fatalf("page at %q: %v, %d read, %v", pos, keys, read, err)
		}
		positions = append(positions, next)
		if next == "" {
			break
		}
		pos = next
	}
	wantAsked := []string{"2026-03-01#0:", "2026-03-01#1:", "2026-03-01#1:c1", "2026-03-01#2:", "2026-03-01#3:"}
	if diff := cmp.Diff(wantAsked, asked); diff != "" {
		t.Errorf("pages read (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1:", "1:c1", "2:", "3:", ""}, positions); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"x", "4:", "-1:", "01:", "1", ":c"} {
		if _, _, _, err := dynamo.DueInDay(context.Background(), page, "2026-03-01", bad, time.Now(), 10); err == nil {
			t.Errorf("position %q accepted", bad)
		}
	}
	boom := errors.New("boom")
	failing := func(context.Context, string, time.Time, string, int) ([]dsr.ProvenanceKey, string, int, error) {
		return nil, "", 0, boom
	}
	if _, _, _, err := dynamo.DueInDay(context.Background(), failing, "2026-03-01", "", time.Now(), 10); !errors.Is(err, boom) {
		t.Errorf("a failed page: %v", err)
	}
	if got := dynamo.DuePosition(0, ""); got != "" {
		t.Errorf("a day starts at %q", got)
	}
	for shard := range dynamo.ProvenanceShards {
		if p := dynamo.DuePosition(shard, "eyJ9"); p != fmt.Sprintf("%d:eyJ9", shard) {
			t.Errorf("position %q", p)
		}
	}
}

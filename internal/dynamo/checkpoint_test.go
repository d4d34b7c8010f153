package dynamo

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/dsr"
)

// TestCheckpointIsStoredAsBefore: the retention checkpoint's position is
// stored as the shard and the cursor the job used to keep itself, a swept
// day as the shard after the last, and every stored checkpoint reads back
// to the same attributes.
func TestCheckpointIsStoredAsBefore(t *testing.T) {
	stripped := time.Date(2023, 11, 29, 11, 0, 0, 123_000_000, time.UTC)
	for name, tc := range map[string]struct {
		cp     dsr.RetentionCheckpoint
		stored checkpointItem // as the job stored it with Shard and Cursor
	}{
		"before the first run": {dsr.RetentionCheckpoint{}, checkpointItem{}},
		"a day's start": {
			dsr.RetentionCheckpoint{Day: "2032-05-10", Version: 3},
			checkpointItem{Day: "2032-05-10", Version: 3},
		},
		"in a shard": {
			dsr.RetentionCheckpoint{Phase: 2, Day: "2032-05-10", Position: "2:eyJrIjoxfQ", StrippedBefore: stripped, StripStatus: 4, StripCursor: "c", Version: 7},
			checkpointItem{Phase: 2, Day: "2032-05-10", Shard: 2, Cursor: "eyJrIjoxfQ", StrippedBefore: "2023-11-29T11:00:00.123Z", StripStatus: 4, StripCursor: "c", Version: 7},
		},
		"at a shard's start": {
			dsr.RetentionCheckpoint{Day: "2032-05-10", Position: "3:", Version: 1},
			checkpointItem{Day: "2032-05-10", Shard: 3, Version: 1},
		},
		"the day swept": {
			dsr.RetentionCheckpoint{Day: "2032-05-10", DaySwept: true, Version: 1},
			checkpointItem{Day: "2032-05-10", Shard: ProvenanceShards, Version: 1},
		},
	} {
		t.Run(name, func(t *testing.T) {
			it, err := toCheckpointItem(tc.cp)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(marshalMap(t, tc.stored), marshalMap(t, it), avOpts); diff != "" {
				t.Errorf("stored (-old +new):\n%s", diff)
			}
			back, err := fromCheckpointItem(tc.stored)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.cp, back); diff != "" {
				t.Errorf("read back (-want +got):\n%s", diff)
			}
		})
	}
	got := marshalMap(t, checkpointItem{Day: "2032-05-10", Shard: 2, Cursor: "eyJ9", Version: 1})
	want := map[string]types.AttributeValue{
		"day": sv("2032-05-10"), "shard": &types.AttributeValueMemberN{Value: "2"}, "cursor": sv("eyJ9"),
		"version": &types.AttributeValueMemberN{Value: "1"},
	}
	if diff := cmp.Diff(want, got, avOpts); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	for _, bad := range []dsr.RetentionCheckpoint{{Position: "9:x"}, {Position: "nope"}, {DaySwept: true, Position: "1:"}} {
		if _, err := toCheckpointItem(bad); err == nil {
			t.Errorf("%+v stored", bad)
		}
	}
}

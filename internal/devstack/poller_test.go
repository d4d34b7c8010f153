package devstack

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/privacyops/dsr/internal/devstack/samtemplate"
)

func TestPollerCount(t *testing.T) {
	tests := []struct {
		name                string
		reserved, scaledMax int
		want                int
	}{
		{"neither", 0, 0, defaultPollers},
		{"maximum concurrency", 0, 5, 5},
		{"reserved concurrency", 4, 0, 4},
		{"both: the lower", 4, 6, 4},
		{"both, maximum concurrency lower", 6, 2, 2},
		{"above the local cap", 0, 20, maxPollers},
		{"reserved above the local cap", 50, 0, maxPollers},
		{"one reserved instance", 1, 0, 1},
	}
	for _, tt := range tests {
		fn := samtemplate.Function{ReservedConcurrency: tt.reserved}
		ev := samtemplate.Event{MaximumConcurrency: tt.scaledMax}
		if got := pollerCount(fn, ev); got != tt.want {
			t.Errorf("%s: pollerCount = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestTemplatePollers: how many pollers each SQS event source of
// template.yaml gets locally, with the parameters' defaults.
func TestTemplatePollers(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names := samtemplate.Names{}
	for id := range tpl.Resources {
		names[id] = samtemplate.Physical{Ref: "local-" + id, Attrs: map[string]string{"Arn": "arn:" + id, "StreamArn": "arn:" + id + "/stream", "Id": id}}
	}
	fns, err := tpl.Functions(names, samtemplate.Pseudo{Region: "us-east-1", AccountID: "000000000000", StackName: "local"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, fn := range fns {
		for _, ev := range fn.Events {
			if ev.Type == samtemplate.EventSQS && ev.Enabled {
				got[fn.LogicalID+"."+ev.Name] = pollerCount(fn, ev)
			}
		}
	}
	want := map[string]int{
		"BackfillFunction.Continue":       3,
		"BackfillFunction.Discarded":      3,
		"DeadLetterFunction.DeadRequests": 3,
		"DeadLetterFunction.DeadTasks":    3,
		"DispatchFunction.Requests":       3,
		"ProvenanceFunction.Provenance":   5, // ProvenanceConcurrency's default
		"RetentionFunction.Continue":      3,
		"WorkerFunction.Tasks":            8, // WorkerConcurrency's default, 20, capped
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pollers per SQS event (-want +got):\n%s", diff)
	}
}

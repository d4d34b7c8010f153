package emf_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/privacyops/dsr/internal/emf"
)

func TestWrite(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		dims   map[string]string
		counts map[string]int
		want   string
	}{
		{"no dimensions", nil, map[string]int{"B": 2, "A": 1},
			`{"A":1,"B":2,"_aws":{"CloudWatchMetrics":[{"Dimensions":[[]],"Metrics":[{"Name":"A","Unit":"Count"},{"Name":"B","Unit":"Count"}],"Namespace":"DataSubjectRequests"}],"Timestamp":1796119200000}}` + "\n"},
		{"a dimension", map[string]string{"Limit": "codes_per_day"}, map[string]int{"LimitReached": 1},
			`{"Limit":"codes_per_day","LimitReached":1,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["Limit"]],"Metrics":[{"Name":"LimitReached","Unit":"Count"}],"Namespace":"DataSubjectRequests"}],"Timestamp":1796119200000}}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := emf.Write(&b, at, tc.dims, tc.counts); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got  %s\nwant %s", b.String(), tc.want)
			}
		})
	}
}

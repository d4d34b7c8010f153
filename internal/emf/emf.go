// Package emf writes CloudWatch metrics in Embedded Metric Format: one JSON
// line a record, on standard output in Lambda, which CloudWatch Logs turns
// into metrics without a call to CloudWatch.
package emf

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
)

// Namespace is the namespace of every metric of the pipeline.
const Namespace = "DataSubjectRequests"

// Write writes one record at t: each metric (a count) with its value, under
// the dimensions dims (none: one metric across the pipeline).
func Write(w io.Writer, t time.Time, dims map[string]string, counts map[string]int) error {
	names := slices.Sorted(maps.Keys(counts))
	metrics := make([]map[string]string, 0, len(names))
	for _, n := range names {
		metrics = append(metrics, map[string]string{"Name": n, "Unit": "Count"})
	}
	dimNames := append([]string{}, slices.Sorted(maps.Keys(dims))...)
	rec := map[string]any{
		"_aws": map[string]any{
			"Timestamp": t.UnixMilli(),
			"CloudWatchMetrics": []map[string]any{{
				"Namespace": Namespace, "Dimensions": [][]string{dimNames}, "Metrics": metrics,
			}},
		},
	}
	for k, v := range dims {
		rec[k] = v
	}
	for k, v := range counts {
		rec[k] = v
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

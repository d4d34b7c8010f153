package dsr

import "time"

// Changes are the fields a status transition sets besides the status. Zero
// values are left alone.
type Changes struct {
	VerifiedAt      time.Time
	DueAt           time.Time
	CompletedAt     time.Time
	Result          *Result
	FailureReason   string
	PlannedPurposes []string // sets the plan and an empty set of done parts
	// ExtendedMonths sets how far the deadline is extended (with DueAt).
	ExtendedMonths int
	// ObjectionDecisions sets the decisions of an objection (see Request).
	ObjectionDecisions map[string]string
}

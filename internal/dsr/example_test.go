package dsr_test

import (
	"fmt"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// A request received on 31 January is due at the end of February's last day.
func ExampleDeadlinePolicy_Due() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	p := dsr.DeadlinePolicy{Start: dsr.ClockAtReceipt, Location: berlin}
	received := time.Date(2027, 1, 31, 15, 4, 0, 0, time.UTC)
	fmt.Println(p.Due(received, 1).Format(time.RFC3339))
	fmt.Println(p.Due(received, 3).Format(time.RFC3339)) // extended by two more months
	// Output:
	// 2027-02-28T22:59:59Z
	// 2027-04-30T21:59:59Z
}

// A DPO extends a request by two months, with a reason, within the first
// month; a third month is refused.
func ExampleDeadlinePolicy_Extend() {
	p := dsr.DeadlinePolicy{Start: dsr.ClockAtReceipt, Location: time.UTC}
	r := &dsr.Request{Status: dsr.StatusInProgress, ReceivedAt: time.Date(2027, 1, 31, 15, 4, 0, 0, time.UTC)}
	due, err := p.Extend(r, 2, "1,200 records across four systems", time.Date(2027, 2, 20, 9, 0, 0, 0, time.UTC))
	fmt.Println(due.Format(time.RFC3339), err)
	r.ExtendedMonths = 2
	_, err = p.Extend(r, 1, "more", time.Date(2027, 2, 21, 9, 0, 0, 0, time.UTC))
	fmt.Println(err)
	// Output:
	// 2027-04-30T23:59:59Z <nil>
	// conflict: the deadline is already extended by 2 month(s); at most 2 in all
}

func ExampleNormalizeEmail() {
	email, err := dsr.NormalizeEmail("  Ada@Example.COM ")
	fmt.Println(email, err)
	_, err = dsr.NormalizeEmail("Ada <ada@example.com>")
	fmt.Println(err)
	// Output:
	// ada@example.com <nil>
	// invalid: invalid email (1 field errors)
}

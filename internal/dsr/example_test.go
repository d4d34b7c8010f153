package dsr_test

import (
	"fmt"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// A request received on 31 January is due at the end of February's last day.
func ExampleDeadlinePolicy_Due() {
	p, _ := dsr.NewDeadlinePolicy("receipt", "Europe/Berlin")
	received := time.Date(2027, 1, 31, 15, 4, 0, 0, time.UTC)
	fmt.Println(p.Due(received, 1).Format(time.RFC3339))
	fmt.Println(p.Due(received, 3).Format(time.RFC3339)) // extended by two more months
	// Output:
	// 2027-02-28T22:59:59Z
	// 2027-04-30T21:59:59Z
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

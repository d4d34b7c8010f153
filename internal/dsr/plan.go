package dsr

import "fmt"

// Plan returns the purposes a verified request acts on, in registry order:
// every purpose for access.
func Plan(r *Request, reg Registry) ([]string, error) {
	switch r.Type {
	case TypeAccess:
		return reg.Names(), nil
	default:
		return nil, fmt.Errorf("plan request %s: type %q is not processed by this version", r.ID, r.Type)
	}
}

package dsr

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// DueRestriction is an entry of the due list of statutory restrictions,
// written when an erasure restricts an item (before its mark) and read by
// the retention job once its day has come: item Ref (the store's opaque
// reference) of Purpose, restricted by RequestID until Until (a UTC day).
type DueRestriction struct {
	Purpose   string
	Ref       string
	RequestID string
	Until     time.Time
}

// RestrictionEndedToken names the end of the statutory restriction of
// purpose's items due on until, as the request records it: one step per
// request, purpose and day, however many items and runs it takes.
func RestrictionEndedToken(purpose string, until time.Time) string {
	return purpose + "@" + until.UTC().Format(time.DateOnly)
}

// RestrictionExtendedToken names a DPO's extension of the statutory
// restriction of purpose's items until until.
func RestrictionExtendedToken(purpose string, until time.Time) string {
	return "extended:" + purpose + "@" + until.UTC().Format(time.DateOnly)
}

// RestrictionEndedStep is the trail's step for the end of the statutory
// restriction of purpose's items due on until, with notices recipients told.
func RestrictionEndedStep(purpose string, until time.Time, notices int, at time.Time) Step {
	detail := fmt.Sprintf("purpose %s: the records restricted until %s deleted, their statutory duty having ended (Art. 17(1), 17(3)(b)); read back",
		purpose, until.UTC().Format(time.DateOnly))
	if notices > 0 {
		detail += fmt.Sprintf("; %d recipient(s) told (Art. 19)", notices)
	}
	return Step{Actor: SystemActor("retention"), Action: AuditRestrictionEnded, Detail: detail, At: at}
}

// RestrictionEndedNotices are the notices to the recipients of erasure r's
// purpose (its result, as provenance had them when the erasure ran), told
// then that the data was restricted, that it is now deleted (Art. 19). They
// carry no address: the person may have none on record by then, and the
// recipient knows whom RefersTo (the erasure's notice to it) was about.
func RestrictionEndedNotices(r *Request, purpose string, until, at time.Time) []RecipientNotice {
	if r.Result == nil {
		return nil
	}
	var out []RecipientNotice
	for _, rc := range r.Result.Recipients {
		if !slices.Contains(rc.Purposes, purpose) {
			continue
		}
		out = append(out, RecipientNotice{
			NoticeID: noticeID(r.ID, "restriction-ended:"+RestrictionEndedToken(purpose, until), rc), RefersTo: noticeID(r.ID, "", rc),
			RequestID: r.ID, Type: r.Type, Recipient: rc.Recipient, Country: rc.Country,
			Purposes: []NoticePurpose{{Purpose: purpose, Action: ActionDelete}}, At: at.UTC(),
		})
	}
	return out
}

// MaxRestrictionYears bounds how far a DPO may extend a statutory
// restriction: no duty of commercial or tax law runs longer.
const MaxRestrictionYears = 30

// RestrictionExtensionInput is the body of a DPO's extension of a
// statutory restriction, as decoded (nil: absent).
type RestrictionExtensionInput struct {
	Purpose *string
	Until   *string
	Reason  *string
}

// RestrictionExtension is a DPO's extension of the statutory restriction
// an erasure put on Purpose's records: they are kept until Until (the first
// day they may be deleted), for Reason (e.g. a tax assessment still open).
type RestrictionExtension struct {
	Purpose string
	Until   time.Time
	Reason  string
}

// ParseRestrictionExtension checks an extension at now: purpose one whose
// records an erasure restricts under a statutory duty (reg), until a date
// (2006-01-02) after today and at most MaxRestrictionYears ahead, a reason.
// Whether it is later than each record's current end is the store's to
// check, record by record.
func ParseRestrictionExtension(in RestrictionExtensionInput, reg Registry, now time.Time) (RestrictionExtension, error) {
	var x RestrictionExtension
	var fields []FieldError
	if name, err := restrictedPurpose(in.Purpose, reg); err != nil {
		fields = append(fields, FieldError{Field: "purpose", Reason: err.Error()})
	} else {
		x.Purpose = name
	}
	var err error
	if x.Until, err = parseUntil(in.Until, now); err != nil {
		fields = append(fields, FieldError{Field: "until", Reason: err.Error()})
	}
	var bad *FieldError
	if x.Reason, bad = requiredDetail("reason", in.Reason, "say which duty still applies (e.g. a tax assessment still open)"); bad != nil {
		fields = append(fields, *bad)
	}
	if len(fields) > 0 {
		return RestrictionExtension{}, Invalid("the extension is invalid", fields...)
	}
	return x, nil
}

// restrictedPurpose reads an extension's purpose: one of reg restricted
// on erasure.
func restrictedPurpose(name *string, reg Registry) (string, error) {
	if name == nil || *name == "" {
		return "", errors.New("is required")
	}
	p, ok := reg.Lookup(*name)
	switch {
	case !ok:
		return "", errors.New("is not a purpose of the registry")
	case p.Erasure != ActionRestrict:
		return "", errors.New("is not restricted under a statutory duty: its records are deleted on erasure")
	}
	return p.Name, nil
}

// parseUntil reads an extension's until: a date after now's day, at most
// MaxRestrictionYears ahead.
func parseUntil(until *string, now time.Time) (time.Time, error) {
	if until == nil || *until == "" {
		return time.Time{}, errors.New("is required: the first day the records may be deleted, as 2006-01-02")
	}
	d, err := time.Parse(time.DateOnly, *until)
	switch {
	case err != nil:
		return time.Time{}, errors.New("must be a date, as 2006-01-02")
	case !d.After(now.UTC()):
		return time.Time{}, errors.New("must be after today")
	case d.After(now.UTC().AddDate(MaxRestrictionYears, 0, 0)):
		return time.Time{}, fmt.Errorf("must be at most %d years ahead", MaxRestrictionYears)
	}
	return d, nil
}

package dsr

import (
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

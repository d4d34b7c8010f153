package dsr

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Limits are what one person, one client and one request may ask of the
// subject routes. Identity is proven by an e-mailed code (Art. 12(6)); the
// per-person limits keep a stranger's chance of verifying a request for
// someone else below 1 in 10,000 a month however many requests they open,
// and keep anyone from mail-bombing an address. Per person means per
// subject key: the address itself is never a key.
type Limits struct {
	// OpenPerPerson: requests of one person awaiting verification with a
	// live code, at once.
	OpenPerPerson int
	// CodesPerDay: codes e-mailed to one person per UTC day, and so the
	// most e-mails intake sends one address a day.
	CodesPerDay int
	// WrongCodesPerDay: wrong codes for one person per UTC day, across all
	// their requests. Once spent, the person's new requests and
	// verifications (even with the right code) wait for the next day.
	WrongCodesPerDay int
	// LinksPerHour: report or certificate links signed per request per hour.
	LinksPerHour int
	// Client: requests to the subject routes that write (submit, verify)
	// per client address.
	Client Rate
}

// DefaultLimits are the limits of the API: 3 wrong codes a day bound a
// month's guesses to 93 (31 days touched, a 30-day span reaches 31 UTC days),
// so the chance of verifying some request for one person is at most
// 93/999,995 < 1/10,000 (GuessBound), while a person who mistypes the code
// twice still verifies with the third try.
var DefaultLimits = Limits{
	OpenPerPerson: 3, CodesPerDay: 5, WrongCodesPerDay: 3, LinksPerHour: 10,
	Client: Rate{Burst: 20, Every: 15 * time.Second},
}

// GuessBound is the most a stranger's chance of verifying any request for one
// person can be over days days: every guess compared is one of the wrong
// codes the day allows (a right one ends the attack), each of the codes of
// CodeDigits digits is drawn uniformly and independently per request, and
// a request takes at most MaxCodeAttempts guesses, so no guess has a better
// chance than 1 in (10^6 − MaxCodeAttempts). A span of days days touches at
// most days+1 UTC days.
func (l Limits) GuessBound(days int) float64 {
	return float64((days+1)*l.WrongCodesPerDay) / float64(1_000_000-MaxCodeAttempts)
}

// Limit names, as metrics and errors name them.
const (
	LimitOpenRequests = "open_requests"
	LimitCodes        = "codes_per_day"
	LimitWrongCodes   = "wrong_codes_per_day"
	LimitClient       = "client_rate"
	LimitLinks        = "links_per_hour"
)

// TooMany is the ETooMany error of a limit: its message says what to do,
// RetryAfter when.
func TooMany(limit string, retryAfter time.Duration, message string) *Error {
	return &Error{Code: ETooMany, Message: message, RetryAfter: max(retryAfter, time.Second), Limit: limit}
}

// Quota is what one person has used of the limits: the UTC day's codes and
// wrong codes, the requests awaiting verification with a live code, and
// which limits were reported reached that day (the DPO is told once).
type Quota struct {
	Day      string               // "2006-01-02", the UTC day the counts are of
	Codes    int                  // codes e-mailed that day
	Wrong    int                  // wrong codes that day, and guesses being compared
	Pending  map[string]time.Time // request id → its code's expiry
	Reported []string             // limits reached and reported that day
}

// Clone returns a deep copy of q.
func (q Quota) Clone() Quota {
	q.Pending = maps.Clone(q.Pending)
	q.Reported = slices.Clone(q.Reported)
	return q
}

// roll starts a new day's counts, only ever forward (a change made with a
// time read before midnight must not wind a new day's counts back), and
// forgets codes that expired. It reports whether now is the quota's day.
func (q *Quota) roll(now time.Time) bool {
	day := now.UTC().Format(time.DateOnly)
	if day > q.Day {
		q.Day, q.Codes, q.Wrong, q.Reported = day, 0, 0, nil
	}
	for id, exp := range q.Pending {
		if !now.Before(exp) {
			delete(q.Pending, id)
		}
	}
	return day == q.Day
}

// Equal reports whether q and o hold the same counts (an empty map or list
// is none).
func (q Quota) Equal(o Quota) bool {
	return q.Day == o.Day && q.Codes == o.Codes && q.Wrong == o.Wrong &&
		maps.EqualFunc(q.Pending, o.Pending, time.Time.Equal) && slices.Equal(q.Reported, o.Reported)
}

// untilTomorrow is how long until the next UTC day.
func untilTomorrow(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// Admit takes one of the day's codes and a place among the person's open
// requests for request id, whose code expires at expires, or refuses with an
// ETooMany error that says until when.
func (q *Quota) Admit(id string, expires, now time.Time, l Limits) error {
	q.roll(now)
	tomorrow := untilTomorrow(now).Sub(now)
	switch {
	case q.Wrong >= l.WrongCodesPerDay:
		return TooMany(LimitWrongCodes, tomorrow, "too many wrong codes were entered for this address today; please try again tomorrow (UTC)")
	case q.Codes >= l.CodesPerDay:
		return TooMany(LimitCodes, tomorrow, fmt.Sprintf("this address was sent %d codes today, the most we send in a day; please try again tomorrow (UTC)", l.CodesPerDay))
	case len(q.Pending) >= l.OpenPerPerson:
		first := slices.MinFunc(slices.Collect(maps.Values(q.Pending)), time.Time.Compare)
		return TooMany(LimitOpenRequests, first.Sub(now), fmt.Sprintf("this address has %d requests waiting for their code; enter one of those codes, or try again once they expire (15 minutes)", len(q.Pending)))
	}
	if q.Pending == nil {
		q.Pending = map[string]time.Time{}
	}
	q.Codes++
	q.Pending[id] = expires
	return nil
}

// Guess spends one of the day's wrong codes before a code is compared, so
// that parallel guesses each count, or refuses once they are spent. A right
// code gives it back (Verified).
func (q *Quota) Guess(now time.Time, l Limits) error {
	q.roll(now)
	if q.Wrong >= l.WrongCodesPerDay {
		return TooMany(LimitWrongCodes, untilTomorrow(now).Sub(now), "too many wrong codes were entered for this address today; please try again tomorrow (UTC)")
	}
	q.Wrong++
	return nil
}

// Return gives back a guess made at now: its code was right, or it was
// never compared. A guess of a day that is over is not given back to the
// next.
func (q *Quota) Return(now time.Time) {
	if q.roll(now) {
		q.Wrong = max(0, q.Wrong-1)
	}
}

// Verified gives back the guess of request id's right code and frees its
// place among the open requests.
func (q *Quota) Verified(id string, now time.Time) {
	q.Return(now)
	delete(q.Pending, id)
}

// Ended frees request id's place among the open requests: it expired, or
// its code could not be sent.
func (q *Quota) Ended(id string, now time.Time) {
	q.roll(now)
	delete(q.Pending, id)
}

// Report records that limit was reached today; it reports whether this is
// the first time, which the DPO is told of.
func (q *Quota) Report(limit string, now time.Time) bool {
	if !q.roll(now) || slices.Contains(q.Reported, limit) {
		return false
	}
	q.Reported = append(q.Reported, limit)
	return true
}

// Rate is a token bucket: Burst requests at once, then one every Every. It
// is kept as the bucket's theoretical arrival time (GCRA), one number.
type Rate struct {
	Burst int
	Every time.Duration
}

// Take admits one request at now to a bucket whose theoretical arrival time
// is tat (zero: never used): the new time, or how long to wait.
func (r Rate) Take(tat, now time.Time) (next time.Time, wait time.Duration, ok bool) {
	if tat.Before(now) {
		tat = now
	}
	if limit := now.Add(time.Duration(r.Burst-1) * r.Every); tat.After(limit) {
		return tat, tat.Sub(limit), false
	}
	return tat.Add(r.Every), 0, true
}

// LimitDigest is what the limits refused on one UTC day, for the DPO: how
// many people reached each per-person limit.
type LimitDigest struct {
	Day    string
	People map[string]int // limit → people who reached it
}

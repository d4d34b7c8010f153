package memstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/privacyops/dsr/internal/dsr"
)

// RestrictionAttribute is the attribute that marks a restricted item, as
// dynamo.RestrictionAttribute: a map of reason, requestId, since and (for a
// statutory duty) until, times as the DynamoDB adapter writes them.
const RestrictionAttribute = "dsrRestriction"

// timeLayout is how the DynamoDB adapter writes times.
const timeLayout = "2006-01-02T15:04:05.000Z"

// Contacts is the in-memory form of dynamo.Contacts: the purpose tables, by
// table name, each item with every attribute as DynamoDB stores it (numbers
// as json.Number, lists as []any, maps as map[string]any). A subject's items
// are found as the adapter finds them: the subject index holds the items
// whose subject key attribute is the subject's key, and of those only the
// ones whose identifier is the subject's address (dsr.Subject.Owns) are
// theirs. Item references and cursors are the adapter's: the table's key,
// typed and encoded, nothing else. Safe for concurrent use; a table nothing
// was put in is empty.
type Contacts struct {
	// PageSize caps the index entries one page reads (0: every entry), as
	// dynamo.Contacts.Limit does: a page can hold fewer of the subject's
	// items, and a page is followed by another only while entries are left.
	PageSize int

	mu     sync.Mutex
	tables map[string]*contactTable
	due    map[string]dsr.DueRestriction // the due list, by dueKey
	calls  map[string]int
	hook   func(op string, p dsr.Purpose) error
}

// contactTable is one purpose table, keyed on one string attribute.
type contactTable struct {
	key   string
	items map[string]map[string]any // key value → item
	added int
}

// table returns p's table under c.mu. A table is keyed on the attribute
// its first Put names (Add: "id"); until then it has no key.
func (c *Contacts) table(p dsr.Purpose) *contactTable {
	if c.tables == nil {
		c.tables = map[string]*contactTable{}
	}
	t := c.tables[p.Table]
	if t == nil {
		t = &contactTable{items: map[string]map[string]any{}}
		c.tables[p.Table] = t
	}
	return t
}

// keyed returns p's table under c.mu, keyed on key ("": the key it has, or
// "id").
func (c *Contacts) keyed(p dsr.Purpose, key string) *contactTable {
	t := c.table(p)
	switch {
	case t.key == "" && key == "":
		t.key = "id"
	case t.key == "":
		t.key = key
	case key != "" && key != t.key:
		panic(fmt.Sprintf("memstore: table %s is keyed on %q, not %q", p.Table, t.key, key))
	}
	return t
}

// before counts a call of op and runs the hook (outside the lock, so that
// it may change the tables).
func (c *Contacts) before(op string, p dsr.Purpose) error {
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
	hook := c.hook
	c.mu.Unlock()
	if hook != nil {
		return hook(op, p)
	}
	return nil
}

// cursorValue is one key attribute of a reference, as dynamo.EncodeCursor
// writes it (string keys only here).
type cursorValue struct {
	S *string `json:"S,omitempty"`
}

func encodeRef(name, value string) string {
	b, _ := json.Marshal(map[string]cursorValue{name: {S: &value}})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeRef returns the key value of reference ref of table t.
func (t *contactTable) decodeRef(ref string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(ref)
	if err != nil {
		return "", fmt.Errorf("decode cursor: %w", err)
	}
	var m map[string]cursorValue
	if err := json.Unmarshal(b, &m); err != nil {
		return "", fmt.Errorf("decode cursor: %w", err)
	}
	v, ok := m[t.key]
	if t.key == "" && len(m) == 1 { // a table without items yet
		for _, v = range m {
			ok = true
		}
	}
	if len(m) != 1 || !ok || v.S == nil {
		return "", fmt.Errorf("decode cursor: not a key of this table")
	}
	return *v.S, nil
}

// decodeRefs decodes every reference or none.
func (t *contactTable) decodeRefs(refs []string) ([]string, error) {
	values := make([]string, 0, len(refs))
	for _, ref := range refs {
		v, err := t.decodeRef(ref)
		if err != nil {
			return nil, err
		}
		values = append(values, v)
	}
	return values, nil
}

// indexed returns the key values of the items under subject key subjectKey
// in p's subject index, in key order, after cursor ("" for all).
func (t *contactTable) indexed(p dsr.Purpose, subjectKey, cursor string) ([]string, error) {
	after := ""
	if cursor != "" {
		var err error
		if after, err = t.decodeRef(cursor); err != nil {
			return nil, err
		}
	}
	var values []string
	for v, item := range t.items {
		if k, ok := item[p.SubjectKeyAttribute].(string); ok && k == subjectKey && (cursor == "" || v > after) {
			values = append(values, v)
		}
	}
	slices.Sort(values)
	return values, nil
}

// owns reports whether item is s's: it holds s's subject key and its
// identifier is s's address.
func owns(p dsr.Purpose, s dsr.Subject, item map[string]any) bool {
	if k, ok := item[p.SubjectKeyAttribute].(string); !ok || k != s.Key {
		return false
	}
	id, ok := item[p.Identifier].(string)
	return ok && s.Owns(&id)
}

// page reads one page of s's items in p's table from cursor on, under c.mu:
// their key values (the subject's only) and the next cursor.
func (c *Contacts) page(p dsr.Purpose, s dsr.Subject, cursor string) (*contactTable, []string, string, error) {
	t := c.table(p)
	values, err := t.indexed(p, s.Key, cursor)
	if err != nil {
		return nil, nil, "", err
	}
	next := ""
	if c.PageSize > 0 && len(values) > c.PageSize {
		values = values[:c.PageSize]
		next = encodeRef(t.key, values[len(values)-1])
	}
	return t, slices.DeleteFunc(values, func(v string) bool { return !owns(p, s, t.items[v]) }), next, nil
}

// FindPage is the in-memory form of dynamo.Contacts.FindPage.
func (c *Contacts) FindPage(_ context.Context, p dsr.Purpose, s dsr.Subject, cursor string) ([]dsr.Record, string, error) {
	if err := c.before("FindPage", p); err != nil {
		return nil, "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, values, next, err := c.page(p, s, cursor)
	if err != nil {
		return nil, "", fmt.Errorf("find %s records: %w", p.Name, err)
	}
	records := make([]dsr.Record, 0, len(values))
	for _, v := range values {
		records = append(records, dsr.Record{Table: p.Table, Item: cloneValue(t.items[v]).(map[string]any)})
	}
	return records, next, nil
}

// KeysPage is the in-memory form of dynamo.Contacts.KeysPage.
func (c *Contacts) KeysPage(_ context.Context, p dsr.Purpose, s dsr.Subject, cursor string) ([]string, string, error) {
	if err := c.before("KeysPage", p); err != nil {
		return nil, "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, values, next, err := c.page(p, s, cursor)
	if err != nil {
		return nil, "", fmt.Errorf("find %s keys: %w", p.Name, err)
	}
	refs := make([]string, 0, len(values))
	for _, v := range values {
		refs = append(refs, encodeRef(t.key, v))
	}
	return refs, next, nil
}

// eachRef runs op's hook, then each with p's table and the key value of
// each of refs, under the lock; a malformed reference fails op whole.
func (c *Contacts) eachRef(op string, p dsr.Purpose, refs []string, each func(t *contactTable, value string)) error {
	if err := c.before(op, p); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.table(p)
	values, err := t.decodeRefs(refs)
	if err != nil {
		return fmt.Errorf("%s %s items: %w", strings.ToLower(op), p.Name, err)
	}
	for _, v := range values {
		each(t, v)
	}
	return nil
}

// Delete is the in-memory form of dynamo.Contacts.Delete: deleting an item
// that is gone is no error.
func (c *Contacts) Delete(_ context.Context, p dsr.Purpose, refs []string) error {
	return c.eachRef("Delete", p, refs, func(t *contactTable, v string) { delete(t.items, v) })
}

// Restrict is the in-memory form of dynamo.Contacts.Restrict: it marks the
// items of refs that exist with r, replacing an existing mark only if r
// overrides. A statutory restriction is restrictStatutory's.
func (c *Contacts) Restrict(_ context.Context, p dsr.Purpose, refs []string, r dsr.Restriction) error {
	return c.eachRef("Restrict", p, refs, func(t *contactTable, v string) {
		item, ok := t.items[v]
		if !ok {
			return // deleted meanwhile: nothing to restrict
		}
		if r.Reason == dsr.RestrictionStatutory {
			c.restrictStatutory(p, t, v, r)
			return
		}
		if _, marked := item[RestrictionAttribute]; marked && !r.Overrides {
			return
		}
		item[RestrictionAttribute] = markOf(r, r.Until)
	})
}

// restrictStatutory is the in-memory form of dynamo's, under c.mu: the
// item of key value v is deleted if its duty has ended, else it gets its
// due-list entry, the mark, the subject key in place of its identifier,
// and loses every attribute the duty does not cover.
func (c *Contacts) restrictStatutory(p dsr.Purpose, t *contactTable, v string, r dsr.Restriction) {
	item := t.items[v]
	date, _ := item[p.RetentionFrom].(string)
	until := r.ItemUntil(p, date, statutoryUntil(item))
	if r.PastDuty(until) {
		delete(t.items, v)
		return
	}
	sk, ok := item[p.SubjectKeyAttribute].(string)
	if !ok {
		return
	}
	if c.due == nil {
		c.due = map[string]dsr.DueRestriction{}
	}
	d := dsr.DueRestriction{Purpose: p.Name, Ref: encodeRef(t.key, v), RequestID: r.RequestID, Until: until}
	c.due[dueKey(d)] = d
	for name := range item {
		if !p.Retains(name) && name != RestrictionAttribute && name != t.key {
			delete(item, name)
		}
	}
	item[p.Identifier], item[RestrictionAttribute] = sk, markOf(r, until)
}

// markOf is the restriction mark r, until until (if not zero).
func markOf(r dsr.Restriction, until time.Time) map[string]any {
	mark := map[string]any{"reason": r.Reason, "requestId": r.RequestID, "since": formatTime(r.Since)}
	if !until.IsZero() {
		mark["until"] = formatTime(until)
	}
	return mark
}

// statutoryUntil is the until of item's statutory mark (zero: none).
func statutoryUntil(item map[string]any) time.Time {
	m, ok := item[RestrictionAttribute].(map[string]any)
	if !ok || m["reason"] != dsr.RestrictionStatutory {
		return time.Time{}
	}
	u, _ := m["until"].(string)
	t, _ := parseTime(u)
	return t
}

// dueKey orders the due list as the DynamoDB adapter's month partitions and
// entries do: by until day, purpose and reference.
func dueKey(d dsr.DueRestriction) string {
	return d.Until.UTC().Format(time.DateOnly) + "#" + d.Purpose + "#" + d.Ref
}

// DueRestrictions is the in-memory form of dynamo.Contacts.DueRestrictions.
func (c *Contacts) DueRestrictions(_ context.Context, month string, now time.Time, limit int) ([]dsr.DueRestriction, error) {
	if err := c.before("DueRestrictions", dsr.Purpose{}); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tomorrow := now.UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	var keys []string
	for k, d := range c.due {
		if d.Until.UTC().Format("2006-01") == month && k < tomorrow {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := []dsr.DueRestriction{}
	for _, k := range keys[:min(limit, len(keys))] {
		out = append(out, c.due[k])
	}
	return out, nil
}

// DropDue is the in-memory form of dynamo.Contacts.DropDue.
func (c *Contacts) DropDue(_ context.Context, due []dsr.DueRestriction) error {
	if err := c.before("DropDue", dsr.Purpose{}); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range due {
		delete(c.due, dueKey(d))
	}
	return nil
}

// EndRestrictions is the in-memory form of dynamo.Contacts.EndRestrictions.
func (c *Contacts) EndRestrictions(_ context.Context, p dsr.Purpose, due []dsr.DueRestriction, now time.Time) ([]dsr.DueRestriction, error) {
	if err := c.before("EndRestrictions", p); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.table(p)
	var ended []dsr.DueRestriction
	for _, d := range due {
		v, err := t.decodeRef(d.Ref)
		if err != nil {
			return nil, fmt.Errorf("end %s restrictions: %w", p.Name, err)
		}
		item, ok := t.items[v]
		if ok {
			if until := statutoryUntil(item); !until.Equal(d.Until) || until.After(now) {
				continue
			}
			if m, _ := item[RestrictionAttribute].(map[string]any); m["requestId"] != nil {
				d.RequestID, _ = m["requestId"].(string)
			}
			delete(t.items, v)
		}
		ended = append(ended, d)
	}
	return ended, nil
}

// ExtendRestrictions is the in-memory form of
// dynamo.Contacts.ExtendRestrictions.
func (c *Contacts) ExtendRestrictions(_ context.Context, p dsr.Purpose, refs []string, requestID string, until time.Time) (int, error) {
	if err := c.before("ExtendRestrictions", p); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.table(p)
	values, err := t.decodeRefs(refs)
	if err != nil {
		return 0, fmt.Errorf("extend %s restrictions: %w", p.Name, err)
	}
	moved := 0
	for i, v := range values {
		item, ok := t.items[v]
		current := statutoryUntil(item)
		mark, _ := item[RestrictionAttribute].(map[string]any)
		if !ok || current.IsZero() || mark["requestId"] != requestID || !current.Before(until) {
			continue
		}
		if c.due == nil {
			c.due = map[string]dsr.DueRestriction{}
		}
		d := dsr.DueRestriction{Purpose: p.Name, Ref: refs[i], RequestID: requestID, Until: until}
		c.due[dueKey(d)] = d
		mark["until"] = formatTime(until)
		moved++
	}
	return moved, nil
}

// Due returns the due list, in its order (a test helper).
func (c *Contacts) Due() []dsr.DueRestriction {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := slices.Sorted(maps.Keys(c.due))
	out := make([]dsr.DueRestriction, 0, len(keys))
	for _, k := range keys {
		out = append(out, c.due[k])
	}
	return out
}

// Unrestrict is the in-memory form of dynamo.Contacts.Unrestrict: it lifts
// the marks of request requestID but statutory ones, and no others.
func (c *Contacts) Unrestrict(_ context.Context, p dsr.Purpose, refs []string, requestID string) error {
	return c.eachRef("Unrestrict", p, refs, func(t *contactTable, v string) {
		if mark, ok := t.items[v][RestrictionAttribute].(map[string]any); ok &&
			mark["requestId"] == requestID && mark["reason"] != dsr.RestrictionStatutory {
			delete(t.items[v], RestrictionAttribute)
		}
	})
}

// Survey is the in-memory form of dynamo.Contacts.Survey: every item of s
// in p's table, in key (reference) order, restricted or not and until when.
func (c *Contacts) Survey(_ context.Context, p dsr.Purpose, s dsr.Subject) ([]dsr.ItemRef, error) {
	if err := c.before("Survey", p); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.survey(p, s), nil
}

func (c *Contacts) survey(p dsr.Purpose, s dsr.Subject) []dsr.ItemRef {
	t := c.table(p)
	values, _ := t.indexed(p, s.Key, "")
	found := []dsr.ItemRef{}
	for _, v := range values {
		item := t.items[v]
		if !owns(p, s, item) {
			continue
		}
		it := dsr.ItemRef{Key: encodeRef(t.key, v)}
		if mark, ok := item[RestrictionAttribute]; ok {
			it.Restricted = true
			if m, ok := mark.(map[string]any); ok {
				if u, ok := m["until"].(string); ok {
					it.Until, _ = parseTime(u)
				}
			}
		}
		found = append(found, it)
	}
	slices.SortFunc(found, func(a, b dsr.ItemRef) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return found
}

// Backups is the in-memory form of dynamo.Contacts.Backups: every purpose
// table has point-in-time recovery with DynamoDB's default 35-day window,
// as template.yaml enables it.
func (c *Contacts) Backups(_ context.Context, p dsr.Purpose, deletedAt time.Time) ([]dsr.Copy, error) {
	if err := c.before("Backups", p); err != nil {
		return nil, err
	}
	const days = 35
	until := deletedAt.UTC().AddDate(0, 0, days)
	return []dsr.Copy{{
		Kind: "point_in_time_recovery", Resource: p.Name,
		Detail: fmt.Sprintf("%s remain in the point-in-time recovery backups of the %s table, which are used for no processing, until its %d-day recovery window has passed", "the deleted items", p.Name, days),
		Until:  &until,
	}}, nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(timeLayout, s)
}

// Test helpers.

// Put writes items to p's table as the CRM does (each replaces the item with
// its key), keyed on attribute key, whose value must be a string. Values are
// stored as DynamoDB stores what attributevalue.MarshalMap makes of them:
// numbers become json.Number, times RFC 3339 strings, slices []any, maps
// map[string]any. It returns the items' references.
func (c *Contacts) Put(p dsr.Purpose, key string, items ...map[string]any) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.keyed(p, key)
	refs := make([]string, 0, len(items))
	for _, item := range items {
		stored := storedValue(reflect.ValueOf(item)).(map[string]any)
		v, ok := stored[key].(string)
		if !ok {
			panic(fmt.Sprintf("memstore: item without string key attribute %q: %v", key, item))
		}
		t.items[v] = stored
		refs = append(refs, encodeRef(key, v))
	}
	return refs
}

// Add writes n items of subject s to p's table (keyed on the key its items
// have, or "id"): each with s's address as identifier, s's subject key, and
// "n", its number from 0. It returns their references.
func (c *Contacts) Add(p dsr.Purpose, s dsr.Subject, n int) []string {
	c.mu.Lock()
	t := c.keyed(p, "")
	key, first := t.key, t.added
	t.added += n
	c.mu.Unlock()
	items := make([]map[string]any, n)
	for i := range n {
		items[i] = map[string]any{key: fmt.Sprintf("%s-%06d", p.Name, first+i), p.Identifier: s.Email, p.SubjectKeyAttribute: s.Key, "n": i}
	}
	return c.Put(p, key, items...)
}

// Items returns a copy of every item of p's table, in key order.
func (c *Contacts) Items(p dsr.Purpose) []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.table(p)
	values := make([]string, 0, len(t.items))
	for v := range t.items {
		values = append(values, v)
	}
	slices.Sort(values)
	items := make([]map[string]any, 0, len(values))
	for _, v := range values {
		items = append(items, cloneValue(t.items[v]).(map[string]any))
	}
	return items
}

// Owned returns the references of s's items in p's table, as Survey finds
// them.
func (c *Contacts) Owned(p dsr.Purpose, s dsr.Subject) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var refs []string
	for _, it := range c.survey(p, s) {
		refs = append(refs, it.Key)
	}
	return refs
}

// Ref returns the reference of the item of p's table whose key is value.
func (c *Contacts) Ref(p dsr.Purpose, value string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return encodeRef(c.keyed(p, "").key, value)
}

// Restriction returns the mark on the item of ref in p's table (Overrides is
// not stored), and whether it has one.
func (c *Contacts) Restriction(p dsr.Purpose, ref string) (dsr.Restriction, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.table(p)
	v, err := t.decodeRef(ref)
	if err != nil {
		return dsr.Restriction{}, false
	}
	m, ok := t.items[v][RestrictionAttribute].(map[string]any)
	if !ok {
		return dsr.Restriction{}, false
	}
	r := dsr.Restriction{}
	r.Reason, _ = m["reason"].(string)
	r.RequestID, _ = m["requestId"].(string)
	if s, ok := m["since"].(string); ok {
		r.Since, _ = parseTime(s)
	}
	if u, ok := m["until"].(string); ok {
		r.Until, _ = parseTime(u)
	}
	return r, true
}

// Calls counts the calls of method op ("FindPage", "KeysPage", "Delete",
// "Restrict", "Unrestrict", "Survey", "Backups").
func (c *Contacts) Calls(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// SetHook has fn run before every call of a method (op as in Calls) on
// purpose p, outside the lock (it may put, add or delete items): an error it
// returns is the call's, which then does nothing. nil removes it.
func (c *Contacts) SetHook(fn func(op string, p dsr.Purpose) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hook = fn
}

// storedValue is v as DynamoDB gives it back after attributevalue.MarshalMap.
func storedValue(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Invalid:
		return nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return storedValue(v.Elem())
	}
	switch x := v.Interface().(type) {
	case json.Number:
		return x
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case []byte:
		return bytes.Clone(x)
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return json.Number(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		return json.Number(strconv.FormatFloat(v.Float(), 'f', -1, v.Type().Bits()))
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			break
		}
		if v.IsNil() {
			return nil
		}
		m := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			m[it.Key().String()] = storedValue(it.Value())
		}
		return m
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		l := make([]any, v.Len())
		for i := range l {
			l[i] = storedValue(v.Index(i))
		}
		return l
	}
	panic(fmt.Sprintf("memstore: a contact attribute of type %s is not supported", v.Type()))
}

// cloneValue deep-copies a stored value.
func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneValue(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = cloneValue(e)
		}
		return l
	case []byte:
		return bytes.Clone(x)
	}
	return v
}

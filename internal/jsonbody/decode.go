// Package jsonbody reads the JSON objects the pipeline is sent, API request
// bodies and queue messages alike: it decodes them strictly (Decode) and
// hands their values to the domain's checks (the Parse functions). Its
// errors are dsr EInvalid errors that say what is wrong with the body or
// the message, their fields naming members, never a Go type or a value.
package jsonbody

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/privacyops/dsr/internal/dsr"
)

// MaxBytes is the largest body or message read (docs/api.md: 16 KiB).
const MaxBytes = 16 << 10

// maxFieldName bounds how much of a field's name an error repeats.
const maxFieldName = 64

// Source is what is decoded, as its errors name it.
type Source string

// The sources the pipeline reads.
const (
	Body    Source = "the request body" // of an API request
	Message Source = "the message"      // of a queue, or an invocation's event
)

// Decode decodes one JSON object, data read from src, into v: the one way
// every body the API and every message the queues read is decoded. It
// refuses, as EInvalid errors whose fields name the member and never a Go
// type or a value:
//
//   - data over MaxBytes, invalid UTF-8, malformed JSON, trailing data;
//   - data that is not an object;
//   - a member name given twice (anywhere in the data);
//   - a member name v does not know, including a known one in another
//     case ("Type" for "type");
//   - null anywhere: every member is either given a value or left out;
//   - a value of the wrong type.
func (src Source) Decode(data []byte, v any) error {
	if len(data) > MaxBytes {
		return dsr.Invalid(fmt.Sprintf("%s is larger than %d bytes", src, MaxBytes))
	}
	if err := src.scanStrict(data); err != nil {
		return err
	}
	err := json.Unmarshal(data, v, json.RejectUnknownMembers(true))
	var se *json.SemanticError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se) && se.JSONPointer != "":
		field := fieldName(se.JSONPointer)
		if errors.Is(se.Err, json.ErrUnknownName) {
			return src.invalid(dsr.FieldError{Field: field, Reason: "is not a known field (names are case-sensitive)"})
		}
		return src.invalid(dsr.FieldError{Field: field, Reason: "must be " + jsonKindOf(se.GoType)})
	default:
		return dsr.Invalid(string(src) + " is not a valid JSON object")
	}
}

// invalid is the error of a member at fault.
func (src Source) invalid(f dsr.FieldError) error { return dsr.Invalid(string(src)+" is invalid", f) }

// scanStrict reads data token by token: one object, no duplicate member
// names, no null, nothing after it.
func (src Source) scanStrict(data []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	tok, err := dec.ReadToken()
	switch {
	case errors.Is(err, io.EOF):
		return dsr.Invalid(string(src) + " is empty; a JSON object is required")
	case err != nil:
		return src.syntaxError(err)
	case tok.Kind() != '{':
		return dsr.Invalid(string(src) + " must be a JSON object")
	}
	for dec.StackDepth() > 0 {
		tok, err := dec.ReadToken()
		if err != nil {
			return src.syntaxError(err)
		}
		if tok.Kind() == 'n' {
			return src.invalid(dsr.FieldError{Field: fieldName(dec.StackPointer()), Reason: "must not be null; leave it out instead"})
		}
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return dsr.Invalid(string(src) + " holds more than one JSON value")
	}
	return nil
}

func (src Source) syntaxError(err error) error {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) && errors.Is(se.Err, jsontext.ErrDuplicateName) {
		return src.invalid(dsr.FieldError{Field: fieldName(se.JSONPointer), Reason: "is given more than once"})
	}
	if errors.As(err, &se) && strings.Contains(se.Err.Error(), "UTF-8") {
		return dsr.Invalid(string(src) + " is not valid UTF-8")
	}
	return dsr.Invalid(string(src) + " is not a valid JSON object")
}

// fieldName renders a JSON pointer as the field names errors use:
// "/purposes/0" is "purposes[0]", "/a/b" is "a.b"; each name is cut to
// maxFieldName characters.
func fieldName(p jsontext.Pointer) string {
	var b strings.Builder
	first := true
	for tok := range p.Tokens() {
		switch {
		case !first && tok != "" && strings.Trim(tok, "0123456789") == "":
			b.WriteString("[" + tok + "]")
		default:
			if !first {
				b.WriteByte('.')
			}
			if r := []rune(tok); len(r) > maxFieldName {
				tok = string(r[:maxFieldName])
			}
			b.WriteString(tok)
		}
		first = false
	}
	return b.String()
}

// jsonKindOf names the JSON value a Go type is decoded from.
func jsonKindOf(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		switch jsonKindOf(t.Elem()) {
		case "a string":
			return "an array of strings"
		case "a JSON object":
			return "an array of JSON objects"
		}
		return "an array"
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	}
	return "another type"
}

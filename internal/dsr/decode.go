package dsr

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// maxFieldName bounds how much of a field's name an error repeats.
const maxFieldName = 64

// DecodeStrict decodes one JSON object into v: the one way every body the
// API and the queues read is decoded. It refuses, as EInvalid errors whose
// fields name the member and never a Go type or a value:
//
//   - a body over MaxBodyBytes, invalid UTF-8, malformed JSON, trailing data;
//   - a body that is not an object;
//   - a member name given twice (anywhere in the body);
//   - a member name the body does not know, including a known one in
//     another case ("Type" for "type");
//   - null anywhere: every member is either given a value or left out;
//   - a value of the wrong type.
func DecodeStrict(body []byte, v any) error {
	if len(body) > MaxBodyBytes {
		return Invalid(fmt.Sprintf("the request body is larger than %d bytes", MaxBodyBytes))
	}
	if err := scanStrict(body); err != nil {
		return err
	}
	err := json.Unmarshal(body, v, json.RejectUnknownMembers(true))
	var se *json.SemanticError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se) && se.JSONPointer != "":
		field := fieldName(se.JSONPointer)
		if errors.Is(se.Err, json.ErrUnknownName) {
			return Invalid("the request body is invalid", FieldError{Field: field, Reason: "is not a known field (names are case-sensitive)"})
		}
		return Invalid("the request body is invalid", FieldError{Field: field, Reason: "must be " + jsonKindOf(se.GoType)})
	default:
		return Invalid("the request body is not a valid JSON object")
	}
}

// scanStrict reads body token by token: one object, no duplicate member
// names, no null, nothing after it.
func scanStrict(body []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	tok, err := dec.ReadToken()
	switch {
	case errors.Is(err, io.EOF):
		return Invalid("the request body is empty; a JSON object is required")
	case err != nil:
		return syntaxError(err)
	case tok.Kind() != '{':
		return Invalid("the request body must be a JSON object")
	}
	for dec.StackDepth() > 0 {
		tok, err := dec.ReadToken()
		if err != nil {
			return syntaxError(err)
		}
		if tok.Kind() == 'n' {
			return Invalid("the request body is invalid", FieldError{Field: fieldName(dec.StackPointer()), Reason: "must not be null; leave it out instead"})
		}
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return Invalid("the request body holds more than one JSON value")
	}
	return nil
}

func syntaxError(err error) error {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) && errors.Is(se.Err, jsontext.ErrDuplicateName) {
		return Invalid("the request body is invalid", FieldError{Field: fieldName(se.JSONPointer), Reason: "is given more than once"})
	}
	if errors.As(err, &se) && strings.Contains(se.Err.Error(), "UTF-8") {
		return Invalid("the request body is not valid UTF-8")
	}
	return Invalid("the request body is not a valid JSON object")
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

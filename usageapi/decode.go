package usageapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aiconsent/aiconsent/money"
	"github.com/aiconsent/aiconsent/usage"
)

// maxBody bounds a request body. Requests are a few hundred bytes; the
// bound is generous so that it never rejects a valid request.
const maxBody = 64 << 10

// badRequest returns an invalid_request refusal on field.
func badRequest(field, format string, args ...any) *usage.Refusal {
	return &usage.Refusal{Reason: usage.ReasonInvalidRequest, Field: field, Description: field + " " + fmt.Sprintf(format, args...)}
}

// decodeJSON decodes the request body, which must be one JSON object with
// only the fields of dst. The error is a refusal naming the field.
func decodeJSON(c echo.Context, dst any) error {
	mediaType, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mediaType != echo.MIMEApplicationJSON {
		return badRequest("body", "must be a JSON object sent with Content-Type: application/json")
	}

	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("body", "has data after the JSON object; send one object")
	}
	return nil
}

// jsonError turns an error of encoding/json into a refusal that names the
// field when there is one.
func jsonError(err error) *usage.Refusal {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var sizeErr *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("body", "is empty; send a JSON object")
	case errors.As(err, &sizeErr):
		return badRequest("body", "is larger than %d bytes", maxBody)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("body", "is not valid JSON; send a JSON object such as {\"grant_id\": \"gr_...\"}")
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return badRequest("body", "is a JSON %s; send a JSON object", typeErr.Value)
	case errors.As(err, &typeErr):
		return badRequest(typeErr.Field, "is a JSON %s; it must be %s", typeErr.Value, kindName(typeErr.Type))
	}

	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest(strings.Trim(field, `"`), "is not a known field")
	}
	return badRequest("body", "could not be decoded as a JSON object")
}

// kindName names the JSON value a Go type accepts, for error descriptions.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int64, reflect.Int:
		return "a whole number"
	case reflect.Pointer:
		return kindName(t.Elem())
	}
	return "a decimal amount such as \"0.002\""
}

// parseAmount parses an amount given as a decimal string such as "0.002"
// or as a plain JSON number. It returns nil when the field is absent or
// null.
func parseAmount(raw json.RawMessage, field string) (*money.Amount, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}

	var a money.Amount
	var err error
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest(field, "is not a valid JSON string")
		}
		a, err = money.Parse(s)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		a, err = money.ParseNumber(string(raw))
	default:
		return nil, badRequest(field, "must be a decimal amount such as \"0.002\"")
	}
	if err != nil {
		return nil, badRequest(field, "%s is invalid: %v; write a decimal amount such as \"0.002\", from 0 to %s with at most %d decimal places",
			raw, err, money.Max, money.FractionDigits)
	}
	return &a, nil
}

// tokenCount returns *n, or 0 when n is nil.
func tokenCount(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}

package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/labstack/echo/v4"
)

// bindJSON decodes the request body into dst strictly: the body must be one
// JSON object of the declared fields with the right types. Errors are 400
// invalid_argument naming the field (or "body"), 413 when too large.
func bindJSON(c echo.Context, dst any) error {
	// The Content-Type is not checked: every body is parsed as JSON, and a
	// body that is not gets a 400 naming the problem. (Bearer tokens, not
	// cookies, authenticate, so a cross-site form post gains nothing.)
	// The whole body is read first: one over the limit is a 413 even without
	// Content-Length (chunked), whatever its first bytes look like.
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return jsonError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return invalid("body", "format", "请求体只能包含一个 JSON 对象")
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("body", "format", "请求体只能包含一个 JSON 对象")
	}
	return nil
}

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he // the body limit's 413
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return invalid(field, "type", "类型错误，应为 "+jsonKind(te.Type.Kind().String()))
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("body", "format", "JSON 格式错误")
	case errors.Is(err, io.EOF):
		return invalid("body", "required", "请求体为空")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(f, "unknown_field", "未知字段")
	case strings.Contains(err.Error(), "http: request body too large"):
		return errTooLarge
	default:
		return invalid("body", "format", "无法解析请求体")
	}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	case "bool":
		return "boolean"
	default:
		return "number"
	}
}

// required returns a 400 naming the first empty field of pairs (name, value).
func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			return invalid(pairs[i], "required", "必填")
		}
	}
	return nil
}

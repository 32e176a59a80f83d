package platform

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// JSONError turns an error of a strict json.Decoder (DisallowUnknownFields)
// reading a department's hook body into the invalid_argument error clients
// get: the field of a wrong type ("type"), malformed JSON or an empty body
// ("body": "format" or "required"), an unknown field ("unknown_field").
// One mapping for every signed hook's parser (applications, bills, licences).
func JSONError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return Invalid(field, "type", "字段类型错误")
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return Invalid("body", "format", "JSON 格式错误")
	case errors.Is(err, io.EOF):
		return Invalid("body", "required", "请求体为空")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if f == "" {
			f = "body"
		}
		return Invalid(f, "unknown_field", "未知字段")
	}
	return Invalid("body", "format", "无法解析请求体")
}

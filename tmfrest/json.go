package tmfrest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"time"

	"github.com/apphub/apphub"
)

// Representations are built from raw JSON, never from decoded values: every value a client
// sent is written back as the exact text it sent (strings with their escapes, numbers with
// their spelling, names starting with $ or holding dots).

// member is one attribute of a JSON object: its name and its value as JSON text.
type member struct {
	name  string
	value json.RawMessage
}

// object is a JSON object whose members keep their order and their raw values.
type object []member

func (o object) get(name string) (json.RawMessage, bool) {
	for _, m := range o {
		if m.name == name {
			return m.value, true
		}
	}
	return nil, false
}

// set replaces the value of name, or appends it.
func (o *object) set(name string, value json.RawMessage) {
	for i := range *o {
		if (*o)[i].name == name {
			(*o)[i].value = value
			return
		}
	}
	*o = append(*o, member{name, value})
}

// setFirst is set for a representation being built: name is looked for among the first n
// members only, those the hub wrote, because the members after them have distinct names (a
// map's keys). Building a resource of many attributes so stays linear.
func (o *object) setFirst(n int, name string, value json.RawMessage) {
	if i := slices.IndexFunc((*o)[:n], func(m member) bool { return m.name == name }); i >= 0 {
		(*o)[i].value = value
		return
	}
	*o = append(*o, member{name, value})
}

func (o *object) del(name string) {
	for i := range *o {
		if (*o)[i].name == name {
			*o = append((*o)[:i], (*o)[i+1:]...)
			return
		}
	}
}

// MarshalJSON writes the members in order, their values compacted but otherwise untouched.
func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(jsonString(m.name))
		buf.WriteByte(':')
		if err := json.Compact(&buf, m.value); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// parseObject reads a JSON object into its members, in order. A name given twice keeps its
// last value, as encoding/json does.
func parseObject(raw []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, apphub.FieldError("body", "must be a JSON object")
	}
	obj := object{}
	index := map[string]int{} // a body may have thousands of members: no search of obj for each
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(err)
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, syntaxError(err)
		}
		if i, ok := index[name]; ok {
			obj[i].value = v
			continue
		}
		index[name] = len(obj)
		obj = append(obj, member{name, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, apphub.FieldError("body", "has data after the JSON value")
	}
	return obj, nil
}

// decodeValue decodes JSON with numbers kept as json.Number, and refuses trailing data.
func decodeValue(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, syntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, apphub.FieldError("body", "has data after the JSON value")
	}
	return v, nil
}

// maxDepth bounds how deeply a body nests objects and arrays. A TMF646 resource is a few levels
// deep; a merge patch reads each level of a value again, so depth would cost time that the size
// limit alone does not bound (a 60 KB patch nested 10,000 deep took 24 s).
const maxDepth = 32

// checkBody refuses a body nested deeper than maxDepth, or whose strings hold U+0000 (NUL): no
// field has a use for it, and a store on PostgreSQL cannot keep it (jsonb refuses it), so it is
// refused here, on every store alike, before anything is written. It only counts brackets
// outside strings and reads escapes inside them: whether the body is JSON is for the parser to
// say (a raw NUL byte is not JSON).
func checkBody(body []byte) error {
	depth, inString, escaped := 0, false, false
	for i, c := range body {
		switch {
		case escaped:
			escaped = false
			if c == 'u' && bytes.HasPrefix(body[i+1:], []byte("0000")) {
				return apphub.FieldError("body", "holds the character U+0000 (NUL), which no field may hold")
			}
		case inString:
			escaped = c == '\\'
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > maxDepth {
				return apphub.FieldError("body", "is nested deeper than %d levels", maxDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

func syntaxError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return apphub.FieldError("body", "is not complete JSON")
	}
	return apphub.WrapError(apphub.EINVALID, err, "the body is not valid JSON: %v", err)
}

// jsonString encodes s as a JSON string without HTML escaping.
func jsonString(s string) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// stringOf decodes raw as a JSON string; ok is false for anything else.
func stringOf(raw json.RawMessage) (string, bool) {
	var s string
	if raw == nil || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// dateTimeLayout is how the hub writes date-times: RFC 3339, UTC, milliseconds.
const dateTimeLayout = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(dateTimeLayout) }

// parseTime parses an RFC 3339 date-time; the hub keeps milliseconds, as its store does.
func parseTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC().Truncate(time.Millisecond), true
}

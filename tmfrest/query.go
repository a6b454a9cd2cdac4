package tmfrest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apphub/apphub"
)

// A list query is parsed from the raw query string, because a literal comma ORs values while
// an encoded one (%2C) is part of a value, a distinction url.Values loses. A '+' is kept as a
// plus sign, not read as a space: date-time offsets (+01:00) are far more common in filters
// than spaces, and a space can be sent as %20.
//
// Filters are evaluated in Go over the representations the client would get; no part of a
// query ever reaches the database.

// reserved names are query parameters that are not attribute filters.
var reserved = []string{"fields", "offset", "limit", "sort", "depth", "expand"}

// Filter operators, as suffixes of the attribute path (validFor.startDateTime.gte).
const (
	opEq  = "eq"
	opNe  = "ne"
	opGt  = "gt"
	opGte = "gte"
	opLt  = "lt"
	opLte = "lte"
)

var operators = []string{opEq, opNe, opGt, opGte, opLt, opLte}

// filter is one attribute condition: the attribute path, an operator and the values it ORs.
type filter struct {
	path   []string
	op     string
	values []string
}

// sortKey orders a list by the attribute at path, descending when desc.
type sortKey struct {
	path []string
	desc bool
}

// listQuery is what a GET asks for: a selection of attributes, filters, an order and a page.
type listQuery struct {
	fields  [][]string // nil: every attribute; empty (fields=none): only id and href
	filters []filter
	sort    []sortKey
	offset  int
	limit   int // -1: no limit
	paged   bool
}

// parseQuery parses a raw query string. Unknown attributes are fine (they match nothing), but
// names that look like database operators ($where, [$ne]) are refused: they are never
// meaningful here, and a client sending them is probing.
func parseQuery(raw string) (listQuery, error) {
	q := listQuery{limit: -1}
	seen := map[string]bool{}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.PathUnescape(rawKey)
		if err != nil {
			return q, apphub.FieldError("query", "%q is not a valid query parameter name", rawKey)
		}
		var values []string
		for part := range strings.SplitSeq(rawValue, ",") {
			v, err := url.PathUnescape(part)
			if err != nil {
				return q, apphub.FieldError(key, "%q is not a valid query parameter value", rawValue)
			}
			values = append(values, v)
		}
		if slices.Contains(reserved, key) {
			if seen[key] {
				return q, apphub.FieldError(key, "is given more than once")
			}
			seen[key] = true
		}
		switch key {
		case "fields":
			q.fields, err = parseFields(values)
		case "offset":
			q.offset, err = parseCount(key, rawValue)
			q.paged = true
		case "limit":
			q.limit, err = parseCount(key, rawValue)
			q.paged = true
		case "sort":
			q.sort, err = parseSort(values)
		case "depth", "expand":
			// Nothing is expanded: every representation is already complete.
		default:
			var f filter
			f, err = parseFilter(key, values)
			q.filters = append(q.filters, f)
		}
		if err != nil {
			return q, err
		}
	}
	return q, nil
}

func parseCount(name, raw string) (int, error) {
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		return 0, apphub.FieldError(name, "must be a whole number, 0 or more")
	}
	return n, nil
}

// parsePath splits a dotted attribute path and refuses what could only be an attempt at a
// database operator or an empty name.
func parsePath(name string) ([]string, error) {
	path := strings.Split(name, ".")
	for _, p := range path {
		if p == "" || strings.HasPrefix(p, "$") || strings.ContainsAny(p, "[]{}") {
			return nil, apphub.FieldError(name, "is not an attribute path (operators are .gt, .gte, .lt, .lte, .eq, .ne)")
		}
	}
	return path, nil
}

func parseFields(values []string) ([][]string, error) {
	fields := [][]string{}
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" || v == "none" {
			continue
		}
		p, err := parsePath(v)
		if err != nil {
			return nil, err
		}
		fields = append(fields, p)
	}
	return fields, nil
}

func parseSort(values []string) ([]sortKey, error) {
	var keys []sortKey
	for _, v := range values {
		v = strings.TrimSpace(v)
		desc := strings.HasPrefix(v, "-")
		v = strings.TrimPrefix(strings.TrimPrefix(v, "-"), "+")
		if v == "" {
			continue
		}
		p, err := parsePath(v)
		if err != nil {
			return nil, err
		}
		keys = append(keys, sortKey{path: p, desc: desc})
	}
	return keys, nil
}

func parseFilter(name string, values []string) (filter, error) {
	path, err := parsePath(name)
	if err != nil {
		return filter{}, err
	}
	f := filter{path: path, op: opEq, values: values}
	if last := path[len(path)-1]; len(path) > 1 && slices.Contains(operators, last) {
		f.path, f.op = path[:len(path)-1], last
	}
	return f, nil
}

// item is one resource of a list: its representation and, decoded on demand, its values.
type item struct {
	obj     object
	decoded map[string]any
}

func (it *item) value(name string) (any, bool) {
	if it.decoded == nil {
		it.decoded = map[string]any{}
	}
	if v, ok := it.decoded[name]; ok {
		return v, true
	}
	raw, ok := it.obj.get(name)
	if !ok {
		return nil, false
	}
	v, err := decodeValue(raw)
	if err != nil {
		return nil, false
	}
	it.decoded[name] = v
	return v, true
}

// leaves returns the values at path: arrays on the way (and at the end) are looked into, so
// that relatedParty.id matches if any related party's id does.
func (it *item) leaves(path []string) []any {
	v, ok := it.value(path[0])
	if !ok {
		return nil
	}
	var out []any
	var walk func(v any, rest []string)
	walk = func(v any, rest []string) {
		if a, ok := v.([]any); ok {
			for _, e := range a {
				walk(e, rest)
			}
			return
		}
		if len(rest) == 0 {
			out = append(out, v)
			return
		}
		if m, ok := v.(map[string]any); ok {
			if next, ok := m[rest[0]]; ok {
				walk(next, rest[1:])
			}
		}
	}
	walk(v, path[1:])
	return out
}

// match reports whether the item satisfies f: eq and the orderings hold when any value at the
// path satisfies them with any of the filter's values; ne holds when eq does not.
func (f filter) match(it *item) bool {
	leaves := it.leaves(f.path)
	if f.op == opNe {
		return !(filter{path: f.path, op: opEq, values: f.values}).matchLeaves(leaves)
	}
	return f.matchLeaves(leaves)
}

func (f filter) matchLeaves(leaves []any) bool {
	for _, l := range leaves {
		for _, v := range f.values {
			if c, ok := compareLeaf(l, v); ok {
				switch {
				case f.op == opEq && c == 0,
					f.op == opGt && c > 0,
					f.op == opGte && c >= 0,
					f.op == opLt && c < 0,
					f.op == opLte && c <= 0:
					return true
				}
			}
		}
	}
	return false
}

// compareLeaf compares an attribute value with a filter value: date-times chronologically,
// numbers numerically, other strings as strings, booleans for equality. ok is false when they
// do not compare (an object, a number against a word).
func compareLeaf(leaf any, value string) (int, bool) {
	switch l := leaf.(type) {
	case string:
		if l == value {
			return 0, true
		}
		if lt, err := time.Parse(time.RFC3339Nano, l); err == nil {
			if vt, err := time.Parse(time.RFC3339Nano, value); err == nil {
				return lt.Compare(vt), true
			}
		}
		return strings.Compare(l, value), true
	case json.Number:
		a, ok1 := parseNumber(string(l))
		b, ok2 := parseNumber(value)
		if !ok1 || !ok2 {
			return 0, false
		}
		return a.Cmp(b), true
	case bool:
		if value == strconv.FormatBool(l) {
			return 0, true
		}
		return 0, false
	}
	return 0, false
}

// parseNumber parses a JSON number exactly enough to compare: the JSON grammar first, so that
// hex, underscores, Inf or NaN are not numbers here.
func parseNumber(s string) (*big.Float, bool) {
	if !isJSONNumber(s) {
		return nil, false
	}
	f, _, err := big.ParseFloat(s, 10, 256, big.ToNearestEven)
	if err != nil {
		return nil, false
	}
	return f, true
}

func isJSONNumber(s string) bool {
	i := 0
	digits := func() bool {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if !digits() {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}

// compareValues orders two attribute values for sort: missing values last, then numbers,
// then strings (date-times chronologically), then anything else as equal.
func compareValues(a, b any) int {
	rank := func(v any) int {
		switch v.(type) {
		case json.Number:
			return 0
		case string:
			return 1
		case bool:
			return 2
		case nil:
			return 4
		}
		return 3
	}
	if c := cmp.Compare(rank(a), rank(b)); c != 0 {
		return c
	}
	switch x := a.(type) {
	case json.Number:
		if c, ok := compareLeaf(x, string(b.(json.Number))); ok {
			return c
		}
	case string:
		c, _ := compareLeaf(x, b.(string))
		return c
	case bool:
		return cmp.Compare(strconv.FormatBool(x), strconv.FormatBool(b.(bool)))
	}
	return 0
}

// apply filters, sorts and pages items; it returns the page and the number of matches.
// matches reports whether it passes every filter of q.
func (q listQuery) matches(it *item) bool {
	for _, f := range q.filters {
		if !f.match(it) {
			return false
		}
	}
	return true
}

func (q listQuery) apply(items []*item) (page []*item, total int) {
	matched := items[:0:0]
	for _, it := range items {
		if q.matches(it) {
			matched = append(matched, it)
		}
	}
	if len(q.sort) > 0 {
		first := func(it *item, path []string) any {
			if l := it.leaves(path); len(l) > 0 {
				return l[0]
			}
			return nil
		}
		slices.SortStableFunc(matched, func(a, b *item) int {
			for _, k := range q.sort {
				va, vb := first(a, k.path), first(b, k.path)
				c := compareValues(va, vb)
				if k.desc && va != nil && vb != nil {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	total = len(matched)
	start := min(q.offset, total)
	end := total
	if q.limit >= 0 && q.limit < total-start {
		end = start + q.limit
	}
	return matched[start:end], total
}

// project keeps the attributes fields names, plus id and href; nil fields keeps everything.
func project(obj object, fields [][]string) object {
	if fields == nil {
		return obj
	}
	// Group the paths by first attribute: nil children means the whole attribute.
	want := map[string][][]string{}
	whole := map[string]bool{"id": true, "href": true}
	for _, f := range fields {
		if len(f) == 1 {
			whole[f[0]] = true
		} else {
			want[f[0]] = append(want[f[0]], f[1:])
		}
	}
	out := object{}
	for _, m := range obj {
		switch {
		case whole[m.name]:
			out = append(out, m)
		case want[m.name] != nil:
			if v, ok := projectRaw(m.value, want[m.name]); ok {
				out = append(out, member{m.name, v})
			}
		}
	}
	return out
}

// projectRaw keeps the sub-attributes paths name inside a raw object, or inside each object of
// a raw array.
func projectRaw(raw json.RawMessage, paths [][]string) (json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) > 0 && raw[0] == '[':
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return nil, false
		}
		out := []json.RawMessage{}
		for _, e := range elems {
			if v, ok := projectRaw(e, paths); ok {
				out = append(out, v)
			}
		}
		var buf bytes.Buffer
		buf.WriteByte('[')
		for i, e := range out {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(e)
		}
		buf.WriteByte(']')
		return buf.Bytes(), true
	case len(raw) > 0 && raw[0] == '{':
		obj, err := parseObject(raw)
		if err != nil {
			return nil, false
		}
		sub := project(obj, paths)
		// project always keeps id and href; inside a nested object keep them only if asked.
		sub = slices.DeleteFunc(sub, func(m member) bool {
			return (m.name == "id" || m.name == "href") && !slices.ContainsFunc(paths, func(p []string) bool { return p[0] == m.name })
		})
		if len(sub) == 0 {
			return nil, false
		}
		b, err := sub.MarshalJSON()
		return b, err == nil
	}
	return nil, false
}

package tmfrest

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// The examples of RFC 7396, appendix A.
func TestMergePatchRFC7396Examples(t *testing.T) {
	for _, tc := range []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
	} {
		got, err := mergePatch([]byte(tc.target), []byte(tc.patch))
		if err != nil {
			t.Fatalf("%s + %s: %v", tc.target, tc.patch, err)
		}
		if !sameJSON(t, got, []byte(tc.want)) {
			t.Errorf("%s + %s = %s, want %s", tc.target, tc.patch, got, tc.want)
		}
	}
}

// referenceMerge is RFC 7396's MergePatch pseudo-code, on decoded values.
func referenceMerge(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	out := map[string]any{}
	for k, v := range t {
		out[k] = v
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = referenceMerge(out[k], v)
		}
	}
	return out
}

// randomJSON makes a random JSON value of bounded depth, with the names and values that catch
// careless code: $ and dots in names, nulls, escapes, numbers with exact spellings.
func randomJSON(r *rand.Rand, depth int) string {
	names := []string{"a", "b", "$c", "d.e", "validFor", "<&>", "\u00e9"}
	kind := r.IntN(8)
	if depth <= 0 && kind >= 5 {
		kind = r.IntN(5)
	}
	switch kind {
	case 0:
		return "null"
	case 1:
		return []string{"true", "false"}[r.IntN(2)]
	case 2:
		return []string{"0", "-1.10", "1E+2", "12345678901234567890123"}[r.IntN(4)]
	case 3:
		return []string{`""`, `"x"`, `"\u00e9<b>"`, `"a\/b"`}[r.IntN(4)]
	case 4, 5:
		var parts []string
		for range r.IntN(4) {
			parts = append(parts, randomJSON(r, depth-1))
		}
		return "[" + strings.Join(parts, ",") + "]"
	default:
		// Distinct names: what a duplicate name means is left open by JSON.
		var parts []string
		for _, i := range r.Perm(len(names))[:r.IntN(5)] {
			name, _ := json.Marshal(names[i])
			parts = append(parts, string(name)+":"+randomJSON(r, depth-1))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
}

// TestMergePatchProperties checks mergePatch against RFC 7396's definition on random
// documents, and that untouched members keep their text. (evanphx/json-patch's MergePatch is
// no oracle: it also drops nulls inside the objects of an array, which RFC 7396 replaces whole.)
func TestMergePatchProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(7396, 1))
	for i := range 3000 {
		target, patch := randomJSON(r, 3), randomJSON(r, 3)
		if i%2 == 0 { // objects most of the time: what PATCH bodies are
			target, patch = "{"+strings.Trim(randomJSON(r, 3), "{}[]")+"}", randomJSON(r, 3)
			if !json.Valid([]byte(target)) {
				target = `{"a":1}`
			}
		}
		got, err := mergePatch([]byte(target), []byte(patch))
		if err != nil {
			t.Fatalf("%s + %s: %v", target, patch, err)
		}
		want := referenceMerge(decode(t, []byte(target)), decode(t, []byte(patch)))
		if !reflect.DeepEqual(decode(t, got), want) {
			t.Fatalf("%s + %s = %s, want %v", target, patch, got, want)
		}
		if strings.HasPrefix(target, "{") && strings.HasPrefix(patch, "{") {
			// Members the patch does not name keep their exact text.
			to, _ := parseObject([]byte(target))
			po, _ := parseObject([]byte(patch))
			gotObj, _ := parseObject(got)
			for _, m := range to {
				if _, named := po.get(m.name); !named {
					if v, _ := gotObj.get(m.name); !bytes.Equal(v, m.value) {
						t.Fatalf("untouched %s changed from %s to %s", m.name, m.value, v)
					}
				}
			}
		}
	}
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	v, err := decodeValue(b)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	return reflect.DeepEqual(decode(t, a), decode(t, b))
}

func TestIfMatch(t *testing.T) {
	for _, tc := range []struct {
		header string
		ok     bool
	}{
		{`"3"`, true}, {`W/"3"`, true}, {`3`, true}, {`*`, true}, {`"1", "3"`, true},
		{`"2"`, false}, {`"33"`, false}, {`""`, false}, {`W/"4", "5"`, false},
	} {
		if got := ifMatch(tc.header, 3); got != tc.ok {
			t.Errorf("If-Match %s on version 3: %v", tc.header, got)
		}
	}
}

func TestMediaType(t *testing.T) {
	for _, tc := range []struct {
		ct, want string
	}{
		{"", mediaJSON},
		{"application/json", mediaJSON},
		{"Application/JSON; charset=UTF-8", mediaJSON},
		{"application/merge-patch+json", mediaMergePatch},
		{"application/json-patch+json", mediaJSONPatch},
		{"application/json; charset=latin1", ""},
		{"text/plain", ""},
		{"application/json;", mediaJSON},
		{"garbage/;;", ""},
	} {
		got, err := mediaType(tc.ct, mediaJSON, mediaMergePatch, mediaJSONPatch)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("%q: %q, %v; want %q", tc.ct, got, err, tc.want)
		}
	}
}

package tmfrest

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/apphub/apphub"
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

// FuzzMergePatch applies any patch to any JSON document as a PATCH does (applyPatch), as a
// merge patch and as a JSON Patch. It must never panic; its errors are the client's (400, or
// 409 for a failed JSON Patch test). A merge patch must agree with RFC 7396's pseudo-code,
// applying it twice must give what applying it once gave, and members it does not name keep
// their text. A JSON Patch that only tests must leave the document as it was. `go test` runs
// the seeds only.
func FuzzMergePatch(f *testing.F) {
	for _, seed := range [][2]string{
		// RFC 7396, appendix A.
		{`{"a":"b"}`, `{"a":"c"}`}, {`{"a":"b"}`, `{"b":"c"}`}, {`{"a":"b"}`, `{"a":null}`},
		{`{"a":["b"]}`, `{"a":"c"}`}, {`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`}, {`{"a":[{"b":"c"}]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`}, {`{"a":"b"}`, `["c"]`}, {`{"a":"foo"}`, `null`}, {`{"e":null}`, `{"a":1}`},
		{`[1,2]`, `{"a":"b","c":null}`}, {`{}`, `{"a":{"bb":{"ccc":null}}}`},
		// What tmfrest patches: a representation, with text to keep.
		{`{"id":"a1","status":"initialized","validFor":{"startDateTime":"2026-03-02T09:00:00.000Z"},"x":1.10,"$y":"\u00e9<b>"}`,
			`{"status":"confirmed","validFor":{"endDateTime":"2026-03-02T10:00:00Z"},"unknown":{"z":null}}`},
		{`{"a":1,"a":2}`, `{"a":null,"a":3}`}, {`{"a" : [ 1 , 2 ] }`, `{"b" : 1}`},
		// JSON Patch.
		{`{"a":{"b":[1,2]}}`, `[{"op":"add","path":"/a/b/-","value":3},{"op":"test","path":"/a/b/2","value":3}]`},
		{`{"a":1}`, `[{"op":"test","path":"/a","value":1}]`}, {`{"a":1}`, `[{"op":"test","path":"/a","value":2}]`},
		{`{"a":1}`, `[{"op":"copy","from":"","path":"/b"},{"op":"copy","from":"","path":"/c"}]`},
		{`{"a":1}`, `[{"op":"move","from":"/a","path":"/a/b"}]`}, {`{"a":1}`, `[{"op":"remove","path":""}]`},
		{`{"a~1b":1}`, `[{"op":"replace","path":"/a~1b","value":{}},{"op":"add","path":"/~0","value":null}]`},
		// Hostile ones.
		{`{}`, ``}, {`{}`, `{`}, {`{}`, `{} {}`}, {`"x"`, `{"a":1}`}, {`null`, `{"a":null}`},
		{`{}`, "{\"\xff\":\"\xfe\"}"}, {`{}`, `{"a":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`},
		{`{}`, `{"a":` + strings.Repeat(`{"a":`, 1000) + `null` + strings.Repeat(`}`, 1000) + `}`},
		{`[]`, `[{"op":"add","path":"/-","value":1},{"op":"add","path":"/99999999999999999999","value":1}]`},
	} {
		f.Add([]byte(seed[0]), []byte(seed[1]))
	}
	f.Fuzz(func(t *testing.T, target, patch []byte) {
		if !json.Valid(target) {
			return // tmfrest patches its own representations, which are valid JSON
		}
		for _, media := range []string{mediaMergePatch, mediaJSONPatch} {
			got, err := applyPatch(media, target, patch)
			if err != nil {
				if code := apphub.ErrorCode(err); code != apphub.EINVALID && !(media == mediaJSONPatch && code == apphub.ECONFLICT) {
					t.Fatalf("%s %s + %s: %v", media, target, patch, err)
				}
				continue
			}
			after, err := decodeValue(got)
			if err != nil {
				t.Fatalf("%s %s + %s = %s, not JSON: %v", media, target, patch, got, err)
			}
			before, _ := decodeValue(target)
			if media == mediaJSONPatch {
				if onlyTests(patch) && !reflect.DeepEqual(after, before) {
					t.Fatalf("tests only: %s + %s = %s", target, patch, got)
				}
				continue
			}
			p, _ := decodeValue(patch) // applyPatch decoded it
			if want := referenceMerge(before, p); !reflect.DeepEqual(after, want) {
				t.Fatalf("%s + %s = %s, want %v", target, patch, got, want)
			}
			again, err := applyPatch(media, got, patch)
			if err != nil || !bytes.Equal(again, got) {
				t.Fatalf("%s + %s = %s, then %s (%v)", target, patch, got, again, err)
			}
			to, err1 := parseObject(target)
			po, err2 := parseObject(patch)
			gotObj, err3 := parseObject(got)
			if err1 != nil || err2 != nil || err3 != nil {
				continue // not both objects: the patch replaces the document
			}
			for _, m := range to {
				if _, named := po.get(m.name); !named {
					if v, ok := gotObj.get(m.name); !ok || !rawEqual(v, m.value) {
						t.Fatalf("%s + %s: untouched %q changed from %s to %s", target, patch, m.name, m.value, v)
					}
				}
			}
		}
	})
}

// onlyTests reports whether a JSON Patch holds only "test" operations (and at least one).
func onlyTests(patch []byte) bool {
	var ops []struct {
		Op string `json:"op"`
	}
	if json.Unmarshal(patch, &ops) != nil || len(ops) == 0 {
		return false
	}
	for _, op := range ops {
		if op.Op != "test" {
			return false
		}
	}
	return true
}

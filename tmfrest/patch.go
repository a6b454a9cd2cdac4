package tmfrest

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"slices"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/apphub/apphub"
)

// Media types of request bodies. The contract, not the swagger's consumes list, is the policy:
// POST takes JSON; PATCH takes a merge patch (as application/merge-patch+json or plain
// application/json) or a JSON Patch; anything else is a 415. A body without a Content-Type is
// taken as JSON. A charset other than UTF-8 is refused: JSON is UTF-8.
const (
	mediaJSON       = "application/json"
	mediaMergePatch = "application/merge-patch+json"
	mediaJSONPatch  = "application/json-patch+json"
)

// errMediaType answers 415 (see writeError's use of it).
var errMediaType = errors.New("unsupported media type")

// mediaType returns the request's media type, lower case, if it is one of allowed.
func mediaType(contentType string, allowed ...string) (string, error) {
	if strings.TrimSpace(contentType) == "" {
		return mediaJSON, nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", errMediaType
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return "", errMediaType
	}
	for _, a := range allowed {
		if mt == a {
			return mt, nil
		}
	}
	return "", errMediaType
}

// applyPatch applies a PATCH body of the given media type to doc, the current representation.
func applyPatch(media string, doc, patch []byte) ([]byte, error) {
	if media == mediaJSONPatch {
		return applyJSONPatch(doc, patch)
	}
	if _, err := decodeValue(patch); err != nil {
		return nil, err
	}
	return mergePatch(doc, patch)
}

// mergePatch applies an RFC 7396 merge patch to target: objects merge recursively, null
// removes, anything else (arrays included) replaces. Members the patch does not touch keep
// their raw text. Both must be valid JSON.
func mergePatch(target, patch []byte) ([]byte, error) {
	patch = bytes.TrimSpace(patch)
	if len(patch) == 0 || patch[0] != '{' {
		return patch, nil
	}
	po, err := parseObject(patch)
	if err != nil {
		return nil, err
	}
	to := object{}
	if t := bytes.TrimSpace(target); len(t) > 0 && t[0] == '{' {
		if to, err = parseObject(t); err != nil {
			return nil, err
		}
	}
	// Both may have thousands of members: find them by name through an index, and remove the
	// nulled ones at the end (a patch names each member once: parseObject keeps the last).
	index := make(map[string]int, len(to))
	for i, m := range to {
		index[m.name] = i
	}
	for _, m := range po {
		i, ok := index[m.name]
		if string(bytes.TrimSpace(m.value)) == "null" {
			if ok {
				to[i].value = nil
			}
			continue
		}
		var cur json.RawMessage
		if ok {
			cur = to[i].value
		}
		merged, err := mergePatch(cur, m.value)
		if err != nil {
			return nil, err
		}
		if ok {
			to[i].value = merged
		} else {
			index[m.name] = len(to)
			to = append(to, member{m.name, merged})
		}
	}
	to = slices.DeleteFunc(to, func(m member) bool { return m.value == nil })
	return to.MarshalJSON()
}

// applyJSONPatch applies an RFC 6902 JSON Patch. A failed "test" is a 409; any other failure
// is the request's fault, a 400.
func applyJSONPatch(doc, patch []byte) ([]byte, error) {
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		return nil, apphub.WrapError(apphub.EINVALID, err, "the body is not a JSON Patch: %v", err)
	}
	opts := jsonpatch.NewApplyOptions()
	opts.EscapeHTML = false                 // client strings come back byte-identical
	opts.AccumulatedCopySizeLimit = maxBody // "copy" must not blow a document up
	out, err := p.ApplyWithOptions(doc, opts)
	if errors.Is(err, jsonpatch.ErrTestFailed) {
		return nil, apphub.WrapError(apphub.ECONFLICT, err, "a JSON Patch test failed: %v", err)
	}
	if err != nil {
		return nil, apphub.WrapError(apphub.EINVALID, err, "the JSON Patch does not apply: %v", err)
	}
	return out, nil
}

// etagOf is the ETag of a resource version.
func etagOf(version int) string { return `"` + strconv.Itoa(version) + `"` }

// ifMatch reports whether an If-Match header matches version: "*", or a list of entity tags
// (weak or strong, quoted or, leniently, bare) one of which is the version.
func ifMatch(header string, version int) bool {
	want := strconv.Itoa(version)
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimSpace(tag)
		tag = strings.TrimPrefix(tag, "W/")
		tag = strings.Trim(tag, `"`)
		if tag == "*" || tag == want {
			return true
		}
	}
	return false
}

// rawEqual reports whether two JSON texts are the same value, up to insignificant whitespace.
func rawEqual(a, b json.RawMessage) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

package resolvers

import (
	"mime"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/apphub/apphub"
)

// The media types of a GraphQL response over HTTP. application/json is what clients written
// before the GraphQL-over-HTTP specification read; application/graphql-response+json lets
// the status code tell a request error (4xx) from a result.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// ResponseMediaType is the media type a GraphQL response to req is written in, as gqlgen's
// transports choose it: the first of Accept's types the hub answers in (application/json for
// */* and application/*), application/json without Accept, and
// application/graphql-response+json when Accept names neither.
func ResponseMediaType(req *http.Request) string {
	accept := req.Header.Get("Accept")
	if accept == "" {
		return mediaJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "*/*", "application/*", mediaJSON:
			return mediaJSON
		case mediaGraphQLResponse:
			return mediaGraphQLResponse
		}
	}
	return mediaGraphQLResponse
}

// specPOST and specGET are gqlgen's transports with the status codes of the GraphQL-over-HTTP
// specification where gqlgen's differ (specWriter).
type specPOST struct{ transport.POST }

func (t specPOST) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	t.POST.Do(&specWriter{ResponseWriter: w, req: r}, r, exec)
}

type specGET struct{ transport.GET }

func (t specGET) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	t.GET.Do(&specWriter{ResponseWriter: w, req: r}, r, exec)
}

// specWriter corrects two answers of gqlgen's transports. A document that does not parse or
// validate, in a well-formed request, is answered 200 in application/json (gqlgen: 422); in
// application/graphql-response+json gqlgen's 400 is the specification's. A mutation or a
// subscription sent with GET is 405 with Allow: POST and a coded error (gqlgen: 406 and an
// error without a code).
type specWriter struct {
	http.ResponseWriter
	req      *http.Request
	replaced bool // the transport's body is dropped: ours was written
}

func (w *specWriter) WriteHeader(status int) {
	switch {
	case status == http.StatusUnprocessableEntity && w.Header().Get("Content-Type") == mediaJSON:
		status = http.StatusOK
	case status == http.StatusNotAcceptable && w.req.Method == http.MethodGet:
		w.Header().Set("Allow", "POST")
		writeRequestError(w.ResponseWriter, w.req, http.StatusMethodNotAllowed, apphub.EINVALID,
			"GET runs queries only: send a mutation with POST, and a subscription over a websocket or server-sent events")
		w.replaced = true
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *specWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *specWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

package tmfrest

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/apphub/apphub"
)

// The normative TMF646 v4.0.0 swagger (Swagger 2.0), byte for byte as TM Forum published it.
//
//go:embed swagger/TMF646-Appointment-v4.0.0.swagger.json
var swaggerJSON []byte

// SwaggerJSON returns a copy of the embedded TMF646 swagger, byte for byte as published
// (apidocs serves it to the API reference).
func SwaggerJSON() []byte { return append([]byte(nil), swaggerJSON...) }

// Schemas are the swagger's definitions, converted once to OpenAPI 3 schemas that
// kin-openapi validates decoded JSON against.
type Schemas struct {
	defs openapi3.Schemas
}

// LoadSchemas converts the embedded swagger. It fails only if the embedded file is broken.
func LoadSchemas() (*Schemas, error) {
	var doc2 openapi2.T
	if err := json.Unmarshal(swaggerJSON, &doc2); err != nil {
		return nil, fmt.Errorf("tmfrest: embedded swagger: %w", err)
	}
	doc3, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		return nil, fmt.Errorf("tmfrest: convert the swagger: %w", err)
	}
	if err := doc3.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("tmfrest: converted swagger: %w", err)
	}
	return &Schemas{defs: doc3.Components.Schemas}, nil
}

// dateTime accepts RFC 3339 date-times, and the empty string: the contract keeps an empty
// nested date-time as sent (the official samples' contactMedium.validFor.endDateTime). The
// date-times that book time (validFor) are checked strictly on top of the schema.
var dateTime = openapi3.NewCallbackValidator(func(s string) error {
	if s == "" {
		return nil
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
		return errors.New("not an RFC 3339 date-time")
	}
	return nil
})

// Validate checks v, JSON decoded with UseNumber, against the swagger definition named def.
// The error is an EINVALID naming the first offending attribute.
func (s *Schemas) Validate(def string, v any) error {
	ref, ok := s.defs[def]
	if !ok || ref.Value == nil {
		return apphub.Errorf(apphub.EINTERNAL, "internal error: no schema %q", def)
	}
	err := ref.Value.VisitJSON(v, openapi3.WithStringFormatValidator("date-time", dateTime))
	if err == nil {
		return nil
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		field := strings.Join(se.JSONPointer(), ".")
		reason := se.Reason
		if field == "" {
			return apphub.FieldError("body", "%s", reason)
		}
		return apphub.FieldError(field, "%s", reason)
	}
	return apphub.WrapError(apphub.EINVALID, err, "the body does not match the %s schema", def)
}

package resolvers_test

import (
	"strings"
	"testing"
)

// An admin replaces the travel times and everyone who may search reads them; a matrix that is
// not one is refused naming the cell, and a customer may not set one.
func TestTravelTimesOverGraphQL(t *testing.T) {
	t.Parallel()
	ops := newClient(t)
	d := ops.do(`{ travelTimes { zones minutes } }`, nil)
	zones := get(d, "travelTimes.zones").([]any)
	if len(zones) == 0 || len(get(d, "travelTimes.minutes").([]any)) != len(zones) {
		t.Fatalf("the demo's travel times: %v", d)
	}
	d = ops.do(`mutation { setTravelTimes(input: {zones: ["paris-1", "paris-2"], minutes: [[0, 35], [40, 0]]}) { version `+errFields+` } }`, nil)
	if get(d, "setTravelTimes.version") == nil {
		t.Fatalf("setTravelTimes: %v", d)
	}
	d = ops.as(customer).do(`{ travelTimes { zones minutes } }`, nil)
	if got := get(d, "travelTimes.minutes.0.1"); got != float64(35) || len(get(d, "travelTimes.zones").([]any)) != 2 {
		t.Fatalf("read back: %v", d)
	}
	d = ops.do(`mutation { setTravelTimes(input: {zones: ["paris-1", "paris-2"], minutes: [[5, 35], [40, 0]]}) { version `+errFields+` } }`, nil)
	if get(d, "setTravelTimes.error.__typename") != "ValidationError" || get(d, "setTravelTimes.error.field") != "travelTimes.minutes[0][0]" {
		t.Fatalf("a non-zero diagonal: %v", d)
	}
	_, errs := ops.as(customer).raw(`mutation { setTravelTimes(input: {zones: ["paris-1"], minutes: [[0]]}) { version } }`, nil)
	if !strings.Contains(string(errs), `"code":"FORBIDDEN"`) {
		t.Fatalf("a customer setting travel times: %s", errs)
	}
}

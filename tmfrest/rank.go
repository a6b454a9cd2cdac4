package tmfrest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apphub/apphub"
)

// The order of a search task's slots (docs/tmf646.md, "Recommended order"). TMF646 has no
// ranking, so a task asks for one with extension attributes of SearchTimeSlot (the swagger
// allows attributes it does not list): rank, "earliest" (the default) or "recommended", and,
// with recommended, preferredTime, the times the caller would rather have. A recommended
// task's slots carry their score and recommendationReason, extensions of TimeSlot.
const (
	rankAttribute      = "rank"
	preferredAttribute = "preferredTime"
	rankEarliest       = "earliest"
	rankRecommended    = "recommended"
	scoreAttribute     = "score"
	reasonAttribute    = "recommendationReason"
)

// weekdays are the names a preferred time's weekday takes: English, lower case, as TMF
// spells its enumerated values.
var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// taskRank reads how a task asks for its slots to be ordered: recommended or not, and the
// preferred times (validated) to rank them with. get reads an attribute of the task. An
// unknown rank, a preferred time that is not one, or preferred times without rank
// recommended are a VALIDATION error naming the attribute.
func taskRank(get func(string) (json.RawMessage, bool)) (recommended bool, preferred []apphub.PreferredTime, err error) {
	if raw, ok := get(rankAttribute); ok {
		switch rank, _ := stringOf(raw); rank {
		case rankEarliest:
		case rankRecommended:
			recommended = true
		default:
			return false, nil, apphub.FieldError(rankAttribute, "must be %q (the default) or %q", rankEarliest, rankRecommended)
		}
	}
	raw, ok := get(preferredAttribute)
	if !ok {
		return recommended, nil, nil
	}
	if !recommended {
		return false, nil, apphub.FieldError(preferredAttribute, "applies only to a task with %q: %q", rankAttribute, rankRecommended)
	}
	var entries []json.RawMessage
	if json.Unmarshal(raw, &entries) != nil || entries == nil {
		return false, nil, apphub.FieldError(preferredAttribute, "must be an array of {weekday, from, to}")
	}
	for i, e := range entries {
		p, err := preferredTime(e)
		if err != nil {
			return false, nil, prefixed(fmt.Sprintf("%s[%d]", preferredAttribute, i), err)
		}
		preferred = append(preferred, p)
	}
	if err := apphub.ValidatePreferredTimes(preferred); err != nil {
		return false, nil, preferredError(err)
	}
	return true, preferred, nil
}

// preferredTime reads one preferred time: {"weekday": ["monday", …], "from": "09:00", "to":
// "12:00"}, weekday optional (every day), nothing else.
func preferredTime(raw json.RawMessage) (apphub.PreferredTime, error) {
	var p apphub.PreferredTime
	obj, err := parseObject(raw)
	if err != nil {
		return p, apphub.FieldError("", "must be an object with weekday, from and to")
	}
	var from, to bool
	for _, m := range obj {
		switch m.name {
		case "weekday":
			var names []json.RawMessage
			if json.Unmarshal(m.value, &names) != nil || len(names) == 0 {
				return p, apphub.FieldError("weekday", "must be a non-empty array of day names (leave it out for every day)")
			}
			for j, n := range names {
				name, _ := stringOf(n)
				d, ok := weekdays[name]
				if !ok {
					return p, apphub.FieldError(fmt.Sprintf("weekday[%d]", j), "must be a day name, \"monday\" to \"sunday\", in lower case")
				}
				p.Weekdays = append(p.Weekdays, d)
			}
		case "from", "to":
			s, ok := stringOf(m.value)
			if !ok {
				return p, apphub.FieldError(m.name, "must be a local time HH:MM")
			}
			if m.name == "from" {
				p.From, from = s, true
			} else {
				p.To, to = s, true
			}
		default:
			return p, apphub.FieldError(m.name, "is not an attribute of a preferred time (weekday, from, to)")
		}
	}
	switch {
	case !from:
		return p, apphub.FieldError("from", "is required")
	case !to:
		return p, apphub.FieldError("to", "is required")
	}
	return p, nil
}

// prefixed puts prefix before the field err names.
func prefixed(prefix string, err error) error {
	e, ok := errors.AsType[*apphub.Error](err)
	if !ok {
		return err
	}
	named := *e
	named.Field = prefix
	if e.Field != "" {
		named.Field += "." + e.Field
	}
	return &named
}

// preferredFields are the names apphub.ValidatePreferredTimes gives the attributes of a
// preferred time, and the ones the task spells them with.
var preferredFields = strings.NewReplacer("preferredTimes", preferredAttribute, ".start", ".from", ".end", ".to", ".weekdays", ".weekday")

// preferredError names, in apphub.ValidatePreferredTimes's refusal, the attribute the client
// sent.
func preferredError(err error) error {
	e, ok := errors.AsType[*apphub.Error](err)
	if !ok {
		return err
	}
	named := *e
	named.Field = preferredFields.Replace(e.Field)
	return &named
}

// withRank adds to a time slot of a recommended task its score and reasons.
func withRank(slot map[string]any, score int, reasons []apphub.Reason) {
	slot[scoreAttribute] = score
	slot[reasonAttribute] = reasonsJSON(reasons)
}

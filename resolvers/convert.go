package resolvers

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/graph/model"
)

func statusOf(s string) model.AppointmentStatus { return model.AppointmentStatus(strings.ToUpper(s)) }

func statusFrom(s model.AppointmentStatus) string { return strings.ToLower(string(s)) }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

func minutes(d time.Duration) int { return int(d / time.Minute) }

func durationOf(m *int) time.Duration { return time.Duration(deref(m)) * time.Minute }

func notesFrom(in []*model.NoteInput) []apphub.Note {
	var out []apphub.Note
	for _, n := range in {
		out = append(out, apphub.Note{Author: deref(n.Author), Text: n.Text})
	}
	return out
}

func contactsFrom(in []*model.ContactMediumInput) []apphub.ContactMedium {
	var out []apphub.ContactMedium
	for _, c := range in {
		out = append(out, apphub.ContactMedium{Type: c.Type, Value: c.Value, Preferred: deref(c.Preferred)})
	}
	return out
}

// userError turns a refusal into the typed error of a mutation payload. Failures the caller
// cannot act on (UNAVAILABLE, INTERNAL) stay GraphQL errors with their code, and so do
// UNAUTHENTICATED and FORBIDDEN: they are about who calls, not about the request, so that a
// client handles them in one place (sign in again, or give up) whatever the operation. A
// refused slot carries the alternatives booking found.
func (r *Resolver) userError(ctx context.Context, err error) (model.UserError, error) {
	code, reason, msg := apphub.ErrorCode(err), apphub.ErrorReason(err), apphub.ErrorMessage(err)
	e, _ := errors.AsType[*apphub.Error](err)
	switch {
	case code == apphub.EUNAVAILABLE || code == apphub.EINTERNAL || code == "":
		return nil, err
	case code == apphub.EUNAUTHENTICATED || code == apphub.EFORBIDDEN:
		return nil, err
	case reason == apphub.ReasonHoldExpired:
		return &model.HoldExpired{Code: reason, Message: msg}, nil
	case reason == apphub.ReasonVersionConflict:
		return &model.VersionConflict{Code: reason, Message: msg}, nil
	case reason == apphub.ReasonInvalidTransition || reason == apphub.ReasonAppointmentNotActive:
		return &model.InvalidTransition{Code: reason, Message: msg}, nil
	case reason == apphub.ReasonIdempotencyKeyReused || reason == apphub.ReasonRequestInProgress:
		return &model.IdempotencyConflict{Code: reason, Message: msg}, nil
	case code == apphub.ENOTFOUND:
		return &model.NotFound{Code: code, Message: msg}, nil
	case reason != "":
		u := &model.SlotUnavailable{Code: reason, Message: msg, Alternatives: []*model.TimeSlot{}}
		if len(e.Alternatives) > 0 {
			cal, _, cerr := r.Service.CalendarAndVersion(ctx)
			if cerr != nil {
				return nil, cerr
			}
			u.Alternatives = timeSlots(cal, e.Alternatives)
		}
		return u, nil
	default:
		v := &model.ValidationError{Code: apphub.EINVALID, Message: msg}
		if e != nil && e.Field != "" {
			v.Field = &e.Field
		}
		return v, nil
	}
}

// availability converts a search's answer, its days' slots in the ranking's order; the answer
// and the preferred times stay with it for its recommendations.
func availability(cal *apphub.Calendar, res *booking.SlotResult, rk ranking) *model.Availability {
	out := &model.Availability{TimeZone: res.TimeZone, Days: make([]*model.AvailabilityDay, len(res.Days)),
		Reasons: make([]*apphub.Reason, len(res.Reasons)), NextDates: res.NextDates, AsOf: res.AsOf,
		Answer: res, Preferred: rk.preferred}
	if res.Version != "" {
		out.Version = &res.Version
	}
	if out.NextDates == nil {
		out.NextDates = []string{}
	}
	var loc *time.Location
	if rk.recommended {
		loc = locationOf(cal, res.TimeZone)
	}
	for i := range res.Days {
		d := &res.Days[i]
		out.Days[i] = &model.AvailabilityDay{Date: d.Date, Slots: timeSlots(cal, daySlots(d, loc, rk))}
	}
	for i := range res.Reasons {
		out.Reasons[i] = &res.Reasons[i]
	}
	return out
}

// timeSlots converts the engine's slots, with their resources looked up once here rather than
// by a field resolver per element.
func timeSlots(cal *apphub.Calendar, slots []apphub.Slot) []*model.TimeSlot {
	out := make([]*model.TimeSlot, len(slots))
	for i, s := range slots {
		ts := &model.TimeSlot{Start: s.Start, End: s.End, Capacity: s.Capacity, Resources: make([]*model.TimeSlotResource, 0, len(s.Resources)),
			Crew: crewOf(cal, s.Crew)}
		for _, sr := range s.Resources {
			if res, ok := cal.Resource(sr.ResourceID); ok {
				ts.Resources = append(ts.Resources, &model.TimeSlotResource{Resource: res, Capacity: sr.Capacity})
			}
		}
		out[i] = ts
	}
	return out
}

// crewOf looks up a crew's resources, in its order; an id gone from the calendar since the
// answer was computed is left out, as timeSlots leaves out its resources (gridEncoder does the
// same). Never nil: the field is a non-null list.
func crewOf(cal *apphub.Calendar, ids []string) []*apphub.Resource {
	out := make([]*apphub.Resource, 0, len(ids))
	for _, id := range ids {
		if res, ok := cal.Resource(id); ok {
			out = append(out, res)
		}
	}
	return out
}

// A cursor is the (start, id) of the last appointment of a page: the order of the list.
func encodeCursor(a *apphub.Appointment) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(a.Start.UnixNano(), 10) + "|" + a.ID))
}

func decodeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if ns, id, ok := strings.Cut(string(b), "|"); ok {
			if n, err := strconv.ParseInt(ns, 10, 64); err == nil {
				return time.Unix(0, n).UTC(), id, nil
			}
		}
	}
	return time.Time{}, "", errors.New("not a cursor this hub gave")
}

var weekdays = map[string]time.Weekday{"SUNDAY": time.Sunday, "MONDAY": time.Monday, "TUESDAY": time.Tuesday,
	"WEDNESDAY": time.Wednesday, "THURSDAY": time.Thursday, "FRIDAY": time.Friday, "SATURDAY": time.Saturday}

func resourceFrom(in model.ResourceInput) (apphub.Resource, error) {
	r := apphub.Resource{ID: in.ID, Kind: in.Kind, Name: in.Name, TimeZone: in.TimeZone, Zones: in.Zones, Skills: in.Skills,
		PlaceID: deref(in.Place), Capacity: deref(in.Capacity), HolidayCalendar: deref(in.HolidayCalendar),
		BufferBefore: durationOf(in.BufferBeforeMinutes), BufferAfter: durationOf(in.BufferAfterMinutes)}
	for i, s := range in.Shifts {
		wd, ok := weekdays[strings.ToUpper(s.Weekday)]
		if !ok {
			return r, apphub.FieldError(fmt.Sprintf("shifts[%d].weekday", i), "%q is not SUNDAY … SATURDAY", s.Weekday)
		}
		r.Shifts = append(r.Shifts, apphub.Shift{Weekday: wd, Start: s.Start, End: deref(s.End), Duration: durationOf(s.DurationMinutes)})
	}
	for _, e := range in.Exceptions {
		r.Exceptions = append(r.Exceptions, apphub.Exception{Kind: e.Kind, From: e.From, To: e.To, Reason: deref(e.Reason)})
	}
	return r, nil
}

func categoryFrom(in model.CategoryInput) apphub.Category {
	c := apphub.Category{ID: in.ID, Name: in.Name, Duration: durationOf(&in.DurationMinutes), RequiredSkills: in.RequiredSkills,
		ResourceKinds: in.ResourceKinds, Step: durationOf(in.StepMinutes), MinNotice: durationOf(in.MinNoticeMinutes),
		Horizon: time.Duration(deref(in.HorizonDays)) * 24 * time.Hour, AtPlace: deref(in.AtPlace)}
	for _, w := range in.Windows {
		c.Windows = append(c.Windows, apphub.Window{Start: w.Start, End: w.End})
	}
	for _, q := range in.Requirements {
		c.Requirements = append(c.Requirements, apphub.Requirement{Kind: q.Kind, Skills: q.Skills, Count: q.Count})
	}
	return c
}

func holidayCalendarFrom(in model.HolidayCalendarInput) apphub.HolidayCalendar {
	h := apphub.HolidayCalendar{ID: in.ID, Region: in.Region}
	for _, d := range in.Dates {
		h.Dates = append(h.Dates, apphub.Holiday{Date: d.Date, Name: d.Name})
	}
	for _, b := range in.Blackouts {
		h.Blackouts = append(h.Blackouts, apphub.Blackout{From: b.From, To: b.To, Name: deref(b.Name)})
	}
	return h
}

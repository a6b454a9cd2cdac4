package mongodb

import (
	"context"
	"crypto/rand"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/apphub/apphub"
)

// The calendar (resources, categories, zones, places, holiday calendars) is small and read
// whole: one scan of collCalendar loads it. Each item is a document `_id = kind|id`; a write
// replaces it. The document `_id = calendarVersion` in collMeta gets a new random token after
// every write, so that every instance notices a change with one `_id` lookup.
const (
	collCalendar      = "calendar"
	calendarVersionID = "calendarVersion"
)

const (
	kindResource        = "resource"
	kindCategory        = "category"
	kindZone            = "zone"
	kindPlace           = "place"
	kindHolidayCalendar = "holidayCalendar"
	kindTravelTimes     = "travelTimes" // one document, id "matrix"
)

type calendarDoc struct {
	ID    string   `bson:"_id"`
	Kind  string   `bson:"kind"`
	Value bson.Raw `bson:"value"`
}

// CalendarVersion returns the token of the calendar's latest write ("" before the first).
func (db *DB) CalendarVersion(ctx context.Context) (string, error) {
	var doc struct {
		Token string `bson:"token"`
	}
	err := db.findByID(ctx, collMeta, calendarVersionID, &doc)
	if apphub.ErrorCode(err) == apphub.ENOTFOUND {
		return "", nil
	}
	return doc.Token, err
}

// LoadCalendar reads the whole calendar and the version it belongs to. The version is read
// first: a write that lands during the scan changes it, and the caller reloads.
func (db *DB) LoadCalendar(ctx context.Context) (apphub.CalendarData, string, error) {
	version, err := db.CalendarVersion(ctx)
	if err != nil {
		return apphub.CalendarData{}, "", err
	}
	cur, err := db.db.Collection(collCalendar).Find(ctx, bson.D{})
	if err != nil {
		return apphub.CalendarData{}, "", mapError(err)
	}
	var docs []calendarDoc
	if err := cur.All(ctx, &docs); err != nil {
		return apphub.CalendarData{}, "", mapError(err)
	}
	var d apphub.CalendarData
	for _, doc := range docs {
		var err error
		switch doc.Kind {
		case kindResource:
			d.Resources, err = appendDecoded(d.Resources, doc.Value)
		case kindCategory:
			d.Categories, err = appendDecoded(d.Categories, doc.Value)
		case kindZone:
			d.Zones, err = appendDecoded(d.Zones, doc.Value)
		case kindPlace:
			d.Places, err = appendDecoded(d.Places, doc.Value)
		case kindHolidayCalendar:
			d.HolidayCalendars, err = appendDecoded(d.HolidayCalendars, doc.Value)
		case kindTravelTimes:
			var t travelDoc
			err = bson.Unmarshal(doc.Value, &t)
			d.TravelTimes = t.travelTimes()
		default:
			err = fmt.Errorf("unknown kind %q", doc.Kind)
		}
		if err != nil {
			return apphub.CalendarData{}, "", apphub.WrapError(apphub.EINTERNAL, err, "calendar document %q cannot be read", doc.ID)
		}
	}
	return d, version, nil
}

func appendDecoded[T any](items []T, raw bson.Raw) ([]T, error) {
	var v T
	if err := bson.Unmarshal(raw, &v); err != nil {
		return items, err
	}
	return append(items, v), nil
}

// SaveCalendar writes every item of d (replacing the items with the same ids), then gives the
// calendar a new version. progress, if not nil, is called after each item.
func (db *DB) SaveCalendar(ctx context.Context, d apphub.CalendarData, progress func(done, total int)) error {
	type item struct {
		kind, id string
		value    any
	}
	var items []item
	for _, r := range d.Resources {
		items = append(items, item{kindResource, r.ID, r})
	}
	for _, c := range d.Categories {
		items = append(items, item{kindCategory, c.ID, c})
	}
	for _, z := range d.Zones {
		items = append(items, item{kindZone, z.ID, z})
	}
	for _, p := range d.Places {
		items = append(items, item{kindPlace, p.ID, p})
	}
	for _, h := range d.HolidayCalendars {
		items = append(items, item{kindHolidayCalendar, h.ID, h})
	}
	if d.TravelTimes != nil {
		items = append(items, item{kindTravelTimes, "matrix", travelDocOf(d.TravelTimes)})
	}
	coll := db.db.Collection(collCalendar)
	for i, it := range items {
		raw, err := bson.Marshal(it.value)
		if err != nil {
			return apphub.WrapError(apphub.EINTERNAL, err, "calendar %s %q cannot be encoded", it.kind, it.id)
		}
		id := it.kind + "|" + it.id
		_, err = coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, calendarDoc{ID: id, Kind: it.kind, Value: raw}, options.Replace().SetUpsert(true))
		if err != nil {
			return mapError(err)
		}
		if progress != nil {
			progress(i+1, len(items))
		}
	}
	return db.bumpCalendarVersion(ctx)
}

func (db *DB) bumpCalendarVersion(ctx context.Context) error {
	_, err := db.db.Collection(collMeta).ReplaceOne(ctx, bson.D{{Key: "_id", Value: calendarVersionID}},
		bson.D{{Key: "_id", Value: calendarVersionID}, {Key: "token", Value: rand.Text()}}, options.Replace().SetUpsert(true))
	return mapError(err)
}

// travelDoc stores apphub.TravelTimes with a document per row: FerretDB stores no array
// directly inside an array.
type travelDoc struct {
	Zones []string    `bson:"zones"`
	Rows  []travelRow `bson:"rows"`
}

type travelRow struct {
	Minutes []int `bson:"minutes"`
}

func travelDocOf(t *apphub.TravelTimes) travelDoc {
	d := travelDoc{Zones: t.Zones}
	for _, row := range t.Minutes {
		d.Rows = append(d.Rows, travelRow{Minutes: row})
	}
	return d
}

func (d travelDoc) travelTimes() *apphub.TravelTimes {
	t := &apphub.TravelTimes{Zones: d.Zones}
	for _, row := range d.Rows {
		t.Minutes = append(t.Minutes, row.Minutes)
	}
	return t
}

package mongodb

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/apphub/apphub"
)

// The waitlist is facts inserted once, as everything exclusive here: an entry; its leaving;
// its open offer, under the entry's id (so that an entry never has two), deleted once the
// offer is closed; every closed offer with its outcome, under the offer's id (so that one
// outcome stands).
const (
	collWaitlist       = "waitlist"
	collWaitlistLeft   = "waitlistLeft"
	collWaitlistOpen   = "waitlistOpen"
	collWaitlistOffers = "waitlistOffers"
)

type preferredDoc struct {
	Weekdays []int  `bson:"weekdays,omitempty"`
	From     string `bson:"from"`
	To       string `bson:"to"`
}

type waitlistDoc struct {
	ID        string         `bson:"_id"`
	PartyID   string         `bson:"partyId,omitempty"`
	CreatedBy string         `bson:"createdBy,omitempty"`
	Category  string         `bson:"category"`
	Place     string         `bson:"place"`
	From      time.Time      `bson:"from"`
	To        time.Time      `bson:"to"`
	Preferred []preferredDoc `bson:"preferred,omitempty"`
	Earliest  bool           `bson:"earliest,omitempty"`
	CreatedAt time.Time      `bson:"createdAt"`
}

func (d waitlistDoc) entry() apphub.WaitlistEntry {
	e := apphub.WaitlistEntry{ID: d.ID, PartyID: d.PartyID, CreatedBy: d.CreatedBy, Category: d.Category, Place: d.Place,
		From: utc(d.From), To: utc(d.To), Earliest: d.Earliest, CreatedAt: utc(d.CreatedAt)}
	for _, p := range d.Preferred {
		pt := apphub.PreferredTime{From: p.From, To: p.To}
		for _, w := range p.Weekdays {
			pt.Weekdays = append(pt.Weekdays, time.Weekday(w))
		}
		e.Preferred = append(e.Preferred, pt)
	}
	return e
}

type leftDoc struct {
	ID     string    `bson:"_id"`
	LeftAt time.Time `bson:"leftAt"`
}

type offerDoc struct {
	ID            string    `bson:"_id"` // the entry's id while it is open, its own once closed
	OfferID       string    `bson:"offerId"`
	EntryID       string    `bson:"entryId"`
	HoldToken     string    `bson:"holdToken"`
	AppointmentID string    `bson:"appointmentId"`
	Resource      string    `bson:"resource,omitempty"`
	Crew          []string  `bson:"crew,omitempty"`
	Claims        []string  `bson:"claims,omitempty"`
	Start         time.Time `bson:"start"`
	End           time.Time `bson:"end"`
	OfferedAt     time.Time `bson:"offeredAt"`
	ExpiresAt     time.Time `bson:"expiresAt"`
	Outcome       string    `bson:"outcome,omitempty"`
	ResolvedAt    time.Time `bson:"resolvedAt,omitempty"`
}

func toOfferDoc(id string, o apphub.WaitlistOffer) offerDoc {
	return offerDoc{ID: id, OfferID: o.ID, EntryID: o.EntryID, HoldToken: o.HoldToken, AppointmentID: o.AppointmentID,
		Resource: o.Resource, Crew: o.Crew, Claims: o.Claims, Start: o.Start, End: o.End, OfferedAt: o.OfferedAt, ExpiresAt: o.ExpiresAt,
		Outcome: o.Outcome, ResolvedAt: o.ResolvedAt}
}

func (d offerDoc) offer() apphub.WaitlistOffer {
	return apphub.WaitlistOffer{ID: d.OfferID, EntryID: d.EntryID, HoldToken: d.HoldToken, AppointmentID: d.AppointmentID,
		Resource: d.Resource, Crew: d.Crew, Claims: d.Claims, Start: utc(d.Start), End: utc(d.End), OfferedAt: utc(d.OfferedAt),
		ExpiresAt: utc(d.ExpiresAt), Outcome: d.Outcome, ResolvedAt: utc(d.ResolvedAt)}
}

// InsertWaitlistEntry records a new entry.
func (db *DB) InsertWaitlistEntry(ctx context.Context, e apphub.WaitlistEntry) error {
	d := waitlistDoc{ID: e.ID, PartyID: e.PartyID, CreatedBy: e.CreatedBy, Category: e.Category, Place: e.Place,
		From: e.From, To: e.To, Earliest: e.Earliest, CreatedAt: e.CreatedAt}
	for _, p := range e.Preferred {
		pd := preferredDoc{From: p.From, To: p.To}
		for _, w := range p.Weekdays {
			pd.Weekdays = append(pd.Weekdays, int(w))
		}
		d.Preferred = append(d.Preferred, pd)
	}
	return db.insert(ctx, collWaitlist, d)
}

// LeaveWaitlist records that an entry was left; ECONFLICT when it was already.
func (db *DB) LeaveWaitlist(ctx context.Context, id string, at time.Time) error {
	return db.insert(ctx, collWaitlistLeft, leftDoc{ID: id, LeftAt: at})
}

// WaitlistEntries reads every entry, with when it was left.
func (db *DB) WaitlistEntries(ctx context.Context) ([]apphub.WaitlistEntry, error) {
	entries, err := scanAll(ctx, db, collWaitlist, bson.D{}, waitlistDoc.entry)
	if err != nil {
		return nil, err
	}
	left, err := scanAll(ctx, db, collWaitlistLeft, bson.D{}, func(d leftDoc) leftDoc { return d })
	if err != nil {
		return nil, err
	}
	at := make(map[string]time.Time, len(left))
	for _, l := range left {
		at[l.ID] = utc(l.LeftAt)
	}
	for i := range entries {
		entries[i].LeftAt = at[entries[i].ID]
	}
	return entries, nil
}

// OpenOffer records an offer, open, under its entry's id: ECONFLICT when the entry has an
// open offer already.
func (db *DB) OpenOffer(ctx context.Context, o apphub.WaitlistOffer) error {
	return db.insert(ctx, collWaitlistOpen, toOfferDoc(o.EntryID, o))
}

// CloseOffer records an open offer's outcome and closes it. The first outcome recorded stands:
// ECONFLICT for the others (the offer is closed all the same).
func (db *DB) CloseOffer(ctx context.Context, o apphub.WaitlistOffer) error {
	err := db.insert(ctx, collWaitlistOffers, toOfferDoc(o.ID, o))
	if err != nil && apphub.ErrorCode(err) != apphub.ECONFLICT {
		return err
	}
	if derr := db.deleteByID(ctx, collWaitlistOpen, o.EntryID); derr != nil && apphub.ErrorCode(derr) != apphub.ENOTFOUND {
		return derr
	}
	return err
}

// Offers reads every offer made: the closed ones with their outcomes, then the open ones.
func (db *DB) Offers(ctx context.Context) ([]apphub.WaitlistOffer, error) {
	closed, err := scanAll(ctx, db, collWaitlistOffers, bson.D{}, offerDoc.offer)
	if err != nil {
		return nil, err
	}
	open, err := scanAll(ctx, db, collWaitlistOpen, bson.D{}, offerDoc.offer)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(closed))
	for _, o := range closed {
		seen[o.ID] = true
	}
	for _, o := range open {
		if !seen[o.ID] { // closed, its open record not yet deleted
			closed = append(closed, o)
		}
	}
	return closed, nil
}

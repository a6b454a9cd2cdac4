package mongodb

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/apphub/apphub"
)

// Collections of the booking path. Claims, revisions, holds and idempotency records are
// exclusive facts: inserts keyed by _id. Appointments are projections of their latest revision.
// Claims live in one collection per UTC day of their quantum, "claims-2006-01-02": a claim's
// _id names its quantum, so one _id always goes to the same collection and stays unique, and a
// search reads only the days it needs. The embedded store scans a whole collection for any
// query but an _id lookup, and its lookups too grow with the collection.
const (
	claimsPrefix     = "claims-"
	collRevisions    = "revisions"
	collAppointments = "appointments"
	collHolds        = "holds"
	collPending      = "pending"
	collIdempotency  = "idempotency"
)

// lookupParallelism bounds the parallel _id lookups of one batch.
const lookupParallelism = 16

// scanBatch is the batch size of scans.
const scanBatch = 10000

// claimDoc holds what a claim's _id does not say: the resource, the quantum and the seat are
// in the _id. The embedded store decodes every field of every document a scan reads, and a
// cold search reads tens of thousands of claims.
type claimDoc struct {
	ID        string    `bson:"_id"`
	Owner     string    `bson:"owner"`
	Version   int       `bson:"version"`
	ExpiresAt time.Time `bson:"expiresAt,omitempty"`
	CreatedAt time.Time `bson:"createdAt"`
}

func (d claimDoc) claim() apphub.Claim {
	resource, start, seat, _ := apphub.ParseClaimID(d.ID) // InsertClaim lets no other _id in
	return apphub.Claim{ID: d.ID, Owner: d.Owner, Version: d.Version, Resource: resource, Start: start,
		Seat: seat, ExpiresAt: utc(d.ExpiresAt), CreatedAt: d.CreatedAt.UTC()}
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// legacyClaims is the one collection claims lived in before they were split by day.
const legacyClaims = "claims"

// claimsReady moves the claims of a database written before they were split by day into
// their day collections, once, before any claim is read or written: until then a booking
// could take time an older booking holds. Inserts keyed by _id make it safe to repeat, also
// from several instances at once; the legacy collection is dropped when all are moved.
func (db *DB) claimsReady(ctx context.Context) error {
	if db.claimsMoved.Load() {
		return nil
	}
	db.claimsMu.Lock()
	defer db.claimsMu.Unlock()
	if db.claimsMoved.Load() {
		return nil
	}
	names, err := db.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return mapError(err)
	}
	if slices.Contains(names, legacyClaims) {
		docs, err := scanAll(ctx, db, legacyClaims, bson.D{}, func(d claimDoc) claimDoc { return d })
		if err != nil {
			return err
		}
		err = db.parallel(ctx, len(docs), func(ctx context.Context, i int) error {
			coll, ok := claimsOfID(docs[i].ID)
			if !ok {
				return nil // not a claim: nothing to move
			}
			if err := db.insert(ctx, coll, docs[i]); err != nil && apphub.ErrorCode(err) != apphub.ECONFLICT {
				return err
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := db.db.Collection(legacyClaims).Drop(ctx); err != nil {
			return mapError(err)
		}
	}
	db.claimsMoved.Store(true)
	return nil
}

// claimsOf names the collection of the claims of day's quanta.
func claimsOf(day time.Time) string { return claimsPrefix + apphub.DayOf(day).Format(time.DateOnly) }

// claimsOfID names the collection of the claim with this _id; false for an _id no claim has.
func claimsOfID(id string) (string, bool) {
	_, start, _, err := apphub.ParseClaimID(id)
	return claimsOf(start), err == nil
}

// InsertClaim takes one claim; ECONFLICT means somebody holds it already.
func (db *DB) InsertClaim(ctx context.Context, c apphub.Claim) error {
	if want := apphub.ClaimID(c.Resource, c.Start, c.Seat); c.ID != want {
		return apphub.Errorf(apphub.EINTERNAL, "claim _id %q does not name its quantum (%q)", c.ID, want)
	}
	if err := db.claimsReady(ctx); err != nil {
		return err
	}
	return db.insert(ctx, claimsOf(c.Start), claimDoc{ID: c.ID, Owner: c.Owner, Version: c.Version,
		ExpiresAt: c.ExpiresAt, CreatedAt: c.CreatedAt})
}

// GetClaims looks the claims up by _id, in parallel; the result holds those that exist.
func (db *DB) GetClaims(ctx context.Context, ids []string) (map[string]apphub.Claim, error) {
	if err := db.claimsReady(ctx); err != nil {
		return nil, err
	}
	out := make(map[string]apphub.Claim, len(ids))
	var mu sync.Mutex
	err := db.parallel(ctx, len(ids), func(ctx context.Context, i int) error {
		coll, ok := claimsOfID(ids[i])
		if !ok {
			return nil
		}
		var d claimDoc
		err := db.findByID(ctx, coll, ids[i], &d)
		if apphub.ErrorCode(err) == apphub.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		mu.Lock()
		out[d.ID] = d.claim()
		mu.Unlock()
		return nil
	})
	return out, err
}

// DeleteClaims removes owner's claims by _id, in parallel; missing ones, and claims with those
// ids that belong to someone else by now, are left alone.
func (db *DB) DeleteClaims(ctx context.Context, owner string, ids []string) error {
	if err := db.claimsReady(ctx); err != nil {
		return err
	}
	return db.parallel(ctx, len(ids), func(ctx context.Context, i int) error {
		coll, ok := claimsOfID(ids[i])
		if !ok {
			return nil
		}
		_, err := db.db.Collection(coll).DeleteOne(ctx, bson.D{{Key: "_id", Value: ids[i]}, {Key: "owner", Value: owner}})
		return mapError(err)
	})
}

// ScanClaims returns the claims of quanta starting in [from, to): one scan per UTC day, the
// days in parallel.
func (db *DB) ScanClaims(ctx context.Context, from, to time.Time) ([]apphub.Claim, error) {
	var colls []string
	for d := apphub.DayOf(from); d.Before(to); d = d.Add(24 * time.Hour) {
		colls = append(colls, claimsOf(d))
	}
	claims, err := db.scanClaims(ctx, colls)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(claims, func(c apphub.Claim) bool { return c.Start.Before(from) || !c.Start.Before(to) }), nil
}

// ClaimsFrom returns the claims of the UTC days from from's on (the reaper's scan): one scan
// per day collection, in parallel.
func (db *DB) ClaimsFrom(ctx context.Context, from time.Time) ([]apphub.Claim, error) {
	if err := db.claimsReady(ctx); err != nil {
		return nil, err
	}
	names, err := db.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, mapError(err)
	}
	first := claimsOf(from) // the names sort as their days do
	var colls []string
	for _, name := range names {
		if strings.HasPrefix(name, claimsPrefix) && name >= first {
			colls = append(colls, name)
		}
	}
	return db.scanClaims(ctx, colls)
}

// scanClaims reads whole collections of claims, in parallel.
func (db *DB) scanClaims(ctx context.Context, colls []string) ([]apphub.Claim, error) {
	if err := db.claimsReady(ctx); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var out []apphub.Claim
	err := db.parallel(ctx, len(colls), func(ctx context.Context, i int) error {
		claims, err := scanAll(ctx, db, colls[i], bson.D{}, claimDoc.claim)
		mu.Lock()
		out = append(out, claims...)
		mu.Unlock()
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func scanAll[D, T any](ctx context.Context, db *DB, coll string, filter bson.D, conv func(D) T) ([]T, error) {
	cur, err := db.db.Collection(coll).Find(ctx, filter, options.Find().SetBatchSize(scanBatch))
	if err != nil {
		return nil, mapError(err)
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mapError(err)
	}
	out := make([]T, len(docs))
	for i, d := range docs {
		out[i] = conv(d)
	}
	return out, nil
}

// parallel runs fn for 0..n-1 with bounded parallelism and returns the first error.
func (db *DB) parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	if n == 1 {
		return fn(ctx, 0)
	}
	sem := make(chan struct{}, lookupParallelism)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = fn(ctx, i)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

type noteDoc struct {
	Author string    `bson:"author,omitempty"`
	Date   time.Time `bson:"date,omitempty"`
	Text   string    `bson:"text"`
}

type contactDoc struct {
	Type      string `bson:"type"`
	Value     string `bson:"value"`
	Preferred bool   `bson:"preferred,omitempty"`
}

type appointmentDoc struct {
	ID           string       `bson:"_id"`
	Version      int          `bson:"version"`
	Status       string       `bson:"status"`
	Category     string       `bson:"category,omitempty"`
	Resource     string       `bson:"resource,omitempty"`
	Crew         []string     `bson:"crew,omitempty"`
	Place        string       `bson:"place,omitempty"`
	Start        time.Time    `bson:"start"`
	End          time.Time    `bson:"end"`
	Claims       []string     `bson:"claims,omitempty"`
	PartyID      string       `bson:"partyId,omitempty"`
	CreatedBy    string       `bson:"createdBy,omitempty"`
	CreatedAt    time.Time    `bson:"createdAt"`
	UpdatedAt    time.Time    `bson:"updatedAt"`
	Description  string       `bson:"description,omitempty"`
	Notes        []noteDoc    `bson:"notes,omitempty"`
	ContactMedia []contactDoc `bson:"contactMedia,omitempty"`
	Attributes   attributes   `bson:"attributes,omitempty"`
	StatusReason string       `bson:"statusReason,omitempty"`
}

func toAppointmentDoc(a apphub.Appointment) appointmentDoc {
	d := appointmentDoc{ID: a.ID, Version: a.Version, Status: a.Status, Category: a.Category, Resource: a.Resource, Crew: a.Crew,
		Place: a.Place, Start: a.Start, End: a.End, Claims: a.Claims, PartyID: a.PartyID, CreatedBy: a.CreatedBy,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Description: a.Description, StatusReason: a.StatusReason,
		Attributes: a.Attributes}
	for _, n := range a.Notes {
		d.Notes = append(d.Notes, noteDoc(n))
	}
	for _, c := range a.ContactMedia {
		d.ContactMedia = append(d.ContactMedia, contactDoc(c))
	}
	return d
}

func (d appointmentDoc) appointment() apphub.Appointment {
	a := apphub.Appointment{ID: d.ID, Version: d.Version, Status: d.Status, Category: d.Category, Resource: d.Resource, Crew: d.Crew,
		Place: d.Place, Start: utc(d.Start), End: utc(d.End), Claims: d.Claims, PartyID: d.PartyID, CreatedBy: d.CreatedBy,
		CreatedAt: utc(d.CreatedAt), UpdatedAt: utc(d.UpdatedAt), Description: d.Description, StatusReason: d.StatusReason,
		Attributes: d.Attributes}
	for _, n := range d.Notes {
		a.Notes = append(a.Notes, apphub.Note{Author: n.Author, Date: utc(n.Date), Text: n.Text})
	}
	for _, c := range d.ContactMedia {
		a.ContactMedia = append(a.ContactMedia, apphub.ContactMedium(c))
	}
	return a
}

type revisionDoc struct {
	ID            string         `bson:"_id"`
	AppointmentID string         `bson:"appointmentId"`
	Version       int            `bson:"version"`
	Change        string         `bson:"change"`
	Fields        []string       `bson:"fields,omitempty"`
	State         appointmentDoc `bson:"state"`
	At            time.Time      `bson:"at"`
	PartyID       string         `bson:"partyId,omitempty"`
	By            string         `bson:"by,omitempty"`
}

func revisionID(appointmentID string, version int) string {
	return appointmentID + "|" + strconv.Itoa(version)
}

// InsertRevision commits a change. ECONFLICT means that version exists already: somebody
// else committed it first (or the reaper voided it).
func (db *DB) InsertRevision(ctx context.Context, r apphub.Revision) error {
	return db.insert(ctx, collRevisions, revisionDoc{ID: revisionID(r.AppointmentID, r.Version), AppointmentID: r.AppointmentID,
		Version: r.Version, Change: r.Change, Fields: r.Fields, State: toAppointmentDoc(r.State), At: r.At, PartyID: r.PartyID, By: r.By})
}

// GetRevision reads one revision, or fails with ENOTFOUND.
func (db *DB) GetRevision(ctx context.Context, appointmentID string, version int) (apphub.Revision, error) {
	var d revisionDoc
	if err := db.findByID(ctx, collRevisions, revisionID(appointmentID, version), &d); err != nil {
		return apphub.Revision{}, err
	}
	return apphub.Revision{AppointmentID: d.AppointmentID, Version: d.Version, Change: d.Change, Fields: d.Fields,
		State: d.State.appointment(), At: utc(d.At), PartyID: d.PartyID, By: d.By}, nil
}

// GetAppointment reads an appointment's projection, or fails with ENOTFOUND. It may be behind
// its revisions; the booking service repairs it.
func (db *DB) GetAppointment(ctx context.Context, id string) (apphub.Appointment, error) {
	var d appointmentDoc
	if err := db.findByID(ctx, collAppointments, id, &d); err != nil {
		return apphub.Appointment{}, err
	}
	return d.appointment(), nil
}

// PutAppointment writes the projection of an appointment's latest revision.
func (db *DB) PutAppointment(ctx context.Context, a apphub.Appointment) error {
	_, err := db.db.Collection(collAppointments).ReplaceOne(ctx, bson.D{{Key: "_id", Value: a.ID}}, toAppointmentDoc(a),
		options.Replace().SetUpsert(true))
	return mapError(err)
}

// DeleteAppointment removes an appointment's projection; its revisions stay.
func (db *DB) DeleteAppointment(ctx context.Context, id string) error {
	_, err := db.db.Collection(collAppointments).DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	return mapError(err)
}

// ListAppointments scans every appointment projection.
func (db *DB) ListAppointments(ctx context.Context) ([]apphub.Appointment, error) {
	return scanAll(ctx, db, collAppointments, bson.D{}, appointmentDoc.appointment)
}

// pendingDoc is a change in flight (apphub.Pending). The collection stays as small as the
// changes being made: every scan of it is cheap, also on the embedded store.
type pendingDoc struct {
	ID            string    `bson:"_id"`
	AppointmentID string    `bson:"appointmentId"`
	Version       int       `bson:"version"`
	Writer        string    `bson:"writer"`
	CreatedAt     time.Time `bson:"createdAt"`
}

func (d pendingDoc) pending() apphub.Pending {
	return apphub.Pending{AppointmentID: d.AppointmentID, Version: d.Version, Writer: d.Writer, CreatedAt: utc(d.CreatedAt)}
}

// InsertPending records a change in flight.
func (db *DB) InsertPending(ctx context.Context, p apphub.Pending) error {
	return db.insert(ctx, collPending, pendingDoc{ID: p.ID(), AppointmentID: p.AppointmentID, Version: p.Version,
		Writer: p.Writer, CreatedAt: p.CreatedAt})
}

// DeletePending removes a change's record once it is projected and published; no error when
// it is gone.
func (db *DB) DeletePending(ctx context.Context, p apphub.Pending) error {
	_, err := db.db.Collection(collPending).DeleteOne(ctx, bson.D{{Key: "_id", Value: p.ID()}})
	return mapError(err)
}

// ListPending scans the changes in flight.
func (db *DB) ListPending(ctx context.Context) ([]apphub.Pending, error) {
	return scanAll(ctx, db, collPending, bson.D{}, pendingDoc.pending)
}

type holdDoc struct {
	Token         string    `bson:"_id"`
	AppointmentID string    `bson:"appointmentId"`
	Category      string    `bson:"category"`
	Resource      string    `bson:"resource"`
	Crew          []string  `bson:"crew,omitempty"`
	Place         string    `bson:"place,omitempty"`
	Start         time.Time `bson:"start"`
	End           time.Time `bson:"end"`
	Claims        []string  `bson:"claims"`
	PartyID       string    `bson:"partyId,omitempty"`
	CreatedBy     string    `bson:"createdBy,omitempty"`
	ExpiresAt     time.Time `bson:"expiresAt"`
	CreatedAt     time.Time `bson:"createdAt"`
}

func (d holdDoc) hold() apphub.Hold {
	return apphub.Hold{Token: d.Token, AppointmentID: d.AppointmentID, Category: d.Category, Resource: d.Resource, Crew: d.Crew,
		Place: d.Place, Start: utc(d.Start), End: utc(d.End), Claims: d.Claims, PartyID: d.PartyID, CreatedBy: d.CreatedBy,
		ExpiresAt: utc(d.ExpiresAt), CreatedAt: utc(d.CreatedAt)}
}

// InsertHold records a hold under its token.
func (db *DB) InsertHold(ctx context.Context, h apphub.Hold) error {
	return db.insert(ctx, collHolds, holdDoc{Token: h.Token, AppointmentID: h.AppointmentID, Category: h.Category,
		Resource: h.Resource, Crew: h.Crew, Place: h.Place, Start: h.Start, End: h.End, Claims: h.Claims, PartyID: h.PartyID,
		CreatedBy: h.CreatedBy, ExpiresAt: h.ExpiresAt, CreatedAt: h.CreatedAt})
}

// GetHold reads a hold by token, or fails with ENOTFOUND.
func (db *DB) GetHold(ctx context.Context, token string) (apphub.Hold, error) {
	var d holdDoc
	if err := db.findByID(ctx, collHolds, token, &d); err != nil {
		return apphub.Hold{}, err
	}
	return d.hold(), nil
}

// ExpiredHolds returns the holds that expired before t (the reaper's scan).
func (db *DB) ExpiredHolds(ctx context.Context, t time.Time) ([]apphub.Hold, error) {
	return scanAll(ctx, db, collHolds, bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lt", Value: t}}}}, holdDoc.hold)
}

// DeleteHold removes a hold record.
func (db *DB) DeleteHold(ctx context.Context, token string) error {
	_, err := db.db.Collection(collHolds).DeleteOne(ctx, bson.D{{Key: "_id", Value: token}})
	return mapError(err)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

package rediscache

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/apphub/apphub"
)

// entryFormat starts every encoded entry, so that a later format can tell old entries apart
// (they are then misses) and an empty day is not an empty string.
const entryFormat = 1

// encodeClaims encodes what the slot engine needs of each claim: its start, as seconds from
// the key's day (quanta make that 0..85500, three bytes at most), and its seat. A day of a
// technician fits in a few hundred bytes.
func encodeClaims(k apphub.ResourceDay, claims []apphub.Claim) string {
	day := apphub.DayOf(k.Day)
	b := make([]byte, 1, 1+4*len(claims))
	b[0] = entryFormat
	for _, c := range claims {
		b = binary.AppendVarint(b, int64(c.Start.Sub(day)/time.Second))
		b = binary.AppendVarint(b, int64(c.Seat))
	}
	return string(b)
}

var errBadEntry = errors.New("malformed busy entry")

// decodeClaims is the inverse of encodeClaims; the claims come back with Resource, Start (UTC)
// and Seat.
func decodeClaims(k apphub.ResourceDay, s string) ([]apphub.Claim, error) {
	if len(s) == 0 || s[0] != entryFormat {
		return nil, errBadEntry
	}
	day := apphub.DayOf(k.Day)
	b := []byte(s[1:])
	var out []apphub.Claim
	for len(b) > 0 {
		off, n := binary.Varint(b)
		if n <= 0 {
			return nil, errBadEntry
		}
		b = b[n:]
		seat, n := binary.Varint(b)
		if n <= 0 {
			return nil, errBadEntry
		}
		b = b[n:]
		out = append(out, apphub.Claim{Resource: k.Resource, Start: day.Add(time.Duration(off) * time.Second), Seat: int(seat)})
	}
	return out, nil
}

package booking

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/apphub/apphub"
)

// The shared answers' encoding: compact, and read without reflection (decoding JSON took more
// of a search served from Redis than everything else). Times are Unix seconds (slots start on
// quanta; AsOf keeps its nanoseconds), a slot's start is stored from the previous one's, and
// resource ids become the calendar's own strings when read. A slot's count of resources
// carries, in its low bit, whether they are a crew; each resource, what its job would join.
const answerFormat = 3

var errBadAnswer = errors.New("malformed shared answer")

func encodeAnswer(res *SlotResult) []byte {
	b := make([]byte, 0, 64+16*countSlots(res))
	b = append(b, answerFormat)
	b = appendString(b, res.Version)
	b = binary.AppendVarint(b, res.AsOf.Unix())
	b = binary.AppendVarint(b, int64(res.AsOf.Nanosecond()))
	b = appendString(b, res.TimeZone)
	b = binary.AppendUvarint(b, uint64(len(res.Days)))
	var prev int64
	for _, d := range res.Days {
		b = appendString(b, d.Date)
		b = binary.AppendUvarint(b, uint64(len(d.Slots)))
		for _, s := range d.Slots {
			start := s.Start.Unix()
			b = binary.AppendVarint(b, start-prev)
			b = binary.AppendVarint(b, s.End.Unix()-start)
			b = binary.AppendVarint(b, int64(s.Capacity))
			crew := uint64(0)
			if len(s.Crew) > 0 {
				crew = 1
			}
			b = binary.AppendUvarint(b, uint64(len(s.Resources))<<1|crew)
			for _, r := range s.Resources {
				b = appendString(b, r.ResourceID)
				b = binary.AppendVarint(b, int64(r.Capacity))
				b = append(b, r.Joined)
			}
			prev = start
		}
	}
	b = binary.AppendUvarint(b, uint64(len(res.Reasons)))
	for _, r := range res.Reasons {
		b = appendString(appendString(b, r.Code), r.Message)
	}
	b = binary.AppendUvarint(b, uint64(len(res.NextDates)))
	for _, d := range res.NextDates {
		b = appendString(b, d)
	}
	return b
}

func countSlots(res *SlotResult) int {
	n := 0
	for _, d := range res.Days {
		n += len(d.Slots)
	}
	return n
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decodeAnswer reads what encodeAnswer wrote; ids of resources cal knows are its strings.
func decodeAnswer(cal *apphub.Calendar, data []byte) (*SlotResult, error) {
	r := answerReader{b: data}
	if r.byte() != answerFormat {
		return nil, errBadAnswer
	}
	res := &SlotResult{Version: r.string()}
	sec := r.varint()
	res.AsOf = time.Unix(sec, r.varint()).UTC()
	res.TimeZone = r.string()
	if n := r.count(); n > 0 {
		res.Days = make([]apphub.SlotDay, n)
	}
	var prev int64
	for i := range res.Days {
		d := &res.Days[i]
		d.Date = r.string()
		d.Slots = make([]apphub.Slot, r.count())
		for k := range d.Slots {
			s := &d.Slots[k]
			start := prev + r.varint()
			s.Start = time.Unix(start, 0).UTC()
			s.End = time.Unix(start+r.varint(), 0).UTC()
			s.Capacity = int(r.varint())
			n := r.count()
			s.Resources = make([]apphub.SlotResource, n>>1)
			for j := range s.Resources {
				id := r.bytes()
				if res, found := cal.Resource(string(id)); found {
					s.Resources[j].ResourceID = res.ID
				} else {
					s.Resources[j].ResourceID = string(id)
				}
				s.Resources[j].Capacity = int(r.varint())
				s.Resources[j].Joined = r.byte()
			}
			if n&1 == 1 {
				s.Crew = make([]string, len(s.Resources))
				for j, m := range s.Resources {
					s.Crew[j] = m.ResourceID
				}
			}
			prev = start
		}
	}
	if n := r.count(); n > 0 {
		res.Reasons = make([]apphub.Reason, n)
		for i := range res.Reasons {
			res.Reasons[i] = apphub.Reason{Code: r.string(), Message: r.string()}
		}
	}
	if n := r.count(); n > 0 {
		res.NextDates = make([]string, n)
		for i := range res.NextDates {
			res.NextDates[i] = r.string()
		}
	}
	if r.err || len(r.b) > 0 {
		return nil, errBadAnswer
	}
	return res, nil
}

// answerReader reads an encoded answer; past its end or on a malformed number it reads
// zeros and sets err.
type answerReader struct {
	b   []byte
	err bool
}

func (r *answerReader) byte() byte {
	if len(r.b) == 0 {
		r.err = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *answerReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length, at most what the bytes left could hold (one byte each), so that a
// malformed length never allocates more than the data's size.
func (r *answerReader) count() int {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > uint64(len(r.b)-n) {
		r.err, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

func (r *answerReader) bytes() []byte {
	n := r.count()
	if r.err {
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func (r *answerReader) string() string { return string(r.bytes()) }

package booking

import (
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/slots"
)

// The answers kept weigh what sizeOf says: the cache never keeps an answer over its budget,
// and its weights, once it has evicted, stay within the budget whatever the sizes.
func TestAnswersStayWithinTheirBudget(t *testing.T) {
	answerOf := func(days, slotsADay, resources int) *SlotResult {
		res := &SlotResult{}
		for d := range days {
			day := apphub.SlotDay{Date: time.Date(2027, 3, 1+d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)}
			for range slotsADay {
				day.Slots = append(day.Slots, apphub.Slot{Resources: make([]apphub.SlotResource, resources)})
			}
			res.Days = append(res.Days, day)
		}
		return res
	}
	month := answerOf(31, 20, 60) // about a month of 60 technicians
	for _, tc := range []struct {
		name        string
		budget      int64
		answer      func(i int) *SlotResult
		wantAtLeast int
	}{
		{"months", 32 << 20, func(int) *SlotResult { return month }, 10},
		// TinyLFU admission may turn newcomers away: the budget holds six of the largest.
		{"growing sizes", 1 << 20, func(i int) *SlotResult { return answerOf(1+i%14, 20, 10) }, 4},
		{"one answer near the budget", int64(sizeOf(month)) + 100, func(int) *SlotResult { return month }, 1},
		{"every answer over the budget", int64(sizeOf(month)) - 1, func(int) *SlotResult { return month }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Service{}
			s.answers, s.answerBytes = newAnswerCache(tc.budget)
			for i := range 300 {
				k := answerKey{category: "repair", from: int64(i % 150)}
				res := tc.answer(i)
				s.keep(k, answer{res: res})
				if a, found := s.answers.GetIfPresent(k); found && int64(sizeOf(res)) > tc.budget {
					t.Fatalf("answer %d of %d bytes kept within %d: %+v", i, sizeOf(res), tc.budget, a)
				}
				s.answers.CleanUp() // evictions are made in the background; wait for them
				if w := s.answers.WeightedSize(); w > uint64(tc.budget) {
					t.Fatalf("after %d answers, %d bytes kept, budget %d", i+1, w, tc.budget)
				}
			}
			sum := uint64(0)
			for k, a := range s.answers.All() {
				if a.size != uint32(sizeOf(a.res)) {
					t.Fatalf("%v weighs %d, sizeOf says %d", k, a.size, sizeOf(a.res))
				}
				sum += uint64(a.size)
			}
			if n := s.answers.EstimatedSize(); n < tc.wantAtLeast || sum != s.answers.WeightedSize() {
				t.Fatalf("%d answers kept, want at least %d; they weigh %d, the cache counts %d", n, tc.wantAtLeast, sum, s.answers.WeightedSize())
			}
		})
	}
}

// sizeOf's estimate is what answers hold on the heap: answers of distinct searches over the demo
// calendar, as the engine computes them and as they are decoded from Redis (which gives every
// resource id a string of its own), take between half and 1.25 times what it says. Not
// parallel: it measures the heap, which tests running beside it would grow.
func TestSizeOfMatchesTheHeap(t *testing.T) {
	cal, err := demo.Calendar()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	var queries []slots.Query
	for _, category := range []string{demo.Repair, demo.Installation, demo.Callback} {
		for _, place := range []string{"75001", "75011", "10001", "10030", "200001", "200035"} {
			for d := range 14 {
				for _, days := range []int{7, 14} {
					from := start.AddDate(0, 0, d)
					queries = append(queries, slots.Query{Category: category, Place: place,
						From: from, To: from.AddDate(0, 0, days), Now: start.Add(-24 * time.Hour)})
				}
			}
		}
	}
	compute := func(q slots.Query) *SlotResult {
		res, err := slots.SearchSlots(cal, &slots.Busy{}, q)
		if err != nil {
			t.Fatal(err)
		}
		return &SlotResult{Result: *res, AsOf: start, Version: "0123456789abcdefghij"}
	}
	// heapOf returns what the answers made by answer take on the heap, and what sizeOf says.
	heapOf := func(answer func(q slots.Query) *SlotResult) (heap, estimate int) {
		kept := make([]*SlotResult, len(queries))
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i, q := range queries {
			kept[i] = answer(q)
			estimate += sizeOf(kept[i])
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(kept)
		return int(after.HeapAlloc) - int(before.HeapAlloc), estimate
	}
	for _, tc := range []struct {
		name   string
		answer func(q slots.Query) *SlotResult
	}{
		{"computed", compute},
		{"decoded", func(q slots.Query) *SlotResult {
			decoded, err := decodeAnswer(cal, encodeAnswer(compute(q)))
			if err != nil {
				t.Fatal(err)
			}
			return decoded
		}},
	} {
		heap, estimate := heapOf(tc.answer)
		ratio := float64(heap) / float64(estimate)
		t.Logf("%s: %d answers take %d bytes on the heap, sizeOf says %d: %.2f", tc.name, len(queries), heap, estimate, ratio)
		if ratio < 0.5 || ratio > 1.25 {
			t.Errorf("%s answers take %.2f times what sizeOf says", tc.name, ratio)
		}
	}
}

// Shared answers read back as they were written, whatever they hold; malformed data is an
// error, never a panic or an allocation larger than the data.
func TestAnswerCodec(t *testing.T) {
	cal, err := demo.Calendar()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2027, 3, 27, 22, 0, 0, 0, time.UTC)
	full, err := slots.SearchSlots(cal, &slots.Busy{}, slots.Query{Category: demo.Repair, Place: "75011", From: start, To: start.AddDate(0, 0, 3), Now: start})
	if err != nil || len(full.Days) == 0 {
		t.Fatal(full, err)
	}
	for _, res := range []*SlotResult{
		{Result: *full, AsOf: start.Add(123456789), Version: "v1"},
		{Result: slots.Result{TimeZone: "Asia/Shanghai", Days: []apphub.SlotDay{{Date: "2027-01-01", Slots: []apphub.Slot{
			{Start: start, End: start.Add(time.Hour), Capacity: 2, Resources: []apphub.SlotResource{{ResourceID: "gone", Capacity: 2}}}}}}}},
		{Result: slots.Result{TimeZone: "UTC", Reasons: []apphub.Reason{{Code: "HOLIDAY", Message: "Noël"}}, NextDates: []string{"2027-01-04"}}, AsOf: start},
	} {
		data := encodeAnswer(res)
		got, err := decodeAnswer(cal, data)
		if err != nil || !reflect.DeepEqual(got, res) && !(got.AsOf.Equal(res.AsOf) && reflect.DeepEqual(got.Result, res.Result) && got.Version == res.Version) {
			t.Fatalf("%+v\nread back as %+v, %v", res, got, err)
		}
		for n := range data {
			if _, err := decodeAnswer(cal, data[:n]); err == nil {
				t.Fatalf("%d of %d bytes read without error", n, len(data))
			}
		}
	}
}

func FuzzAnswerCodec(f *testing.F) {
	cal, err := demo.Calendar()
	if err != nil {
		f.Fatal(err)
	}
	start := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	res, err := slots.SearchSlots(cal, &slots.Busy{}, slots.Query{Category: demo.Repair, Place: "75011", From: start, To: start.AddDate(0, 0, 2), Now: start})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(encodeAnswer(&SlotResult{Result: *res, AsOf: start, Version: "v"}))
	f.Add([]byte{answerFormat, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := decodeAnswer(cal, data)
		if err != nil {
			return
		}
		again, err := decodeAnswer(cal, encodeAnswer(res))
		if err != nil || !reflect.DeepEqual(again.Result, res.Result) || again.Version != res.Version || !again.AsOf.Equal(res.AsOf) {
			t.Fatalf("%+v read back as %+v, %v", res, again, err)
		}
	})
}

// Instances share answers in Redis under these versions: a build that digested the same inputs
// differently would miss every answer another build kept, and a rolling upgrade would compute
// everything again.
func TestVersionOfIsStable(t *testing.T) {
	tokens := []string{"e1/abcdefghijklmnop:12", "e1/abcdefghijklmnop:13", "e1/abcdefghijklmnop:14"}
	if got, want := versionOf("cal-7", tokens, 1700000000, 1800000000), "NGNuUPQbPOzPtzgd-qdt"; got != want {
		t.Errorf("versionOf = %q, want %q", got, want)
	}
	long := make([]string, 40) // more than the stack buffer holds
	for i := range long {
		long[i] = tokens[i%3]
	}
	if versionOf("cal-7", long, -1, 5) == versionOf("cal-7", long[:39], -1, 5) {
		t.Error("versions of different tokens are equal")
	}
}

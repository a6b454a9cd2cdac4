package booking

import (
	"testing"
	"time"

	"github.com/apphub/apphub"
)

// The answers kept in memory stay within their budget, the newest kept, the accounting exact
// when an answer is replaced.
func TestAnswersStayWithinTheirBudget(t *testing.T) {
	month := &SlotResult{} // about a month of 60 technicians
	for d := range 31 {
		day := apphub.SlotDay{Date: time.Date(2027, 3, 1+d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)}
		for range 20 {
			day.Slots = append(day.Slots, apphub.Slot{Resources: make([]apphub.SlotResource, 60)})
		}
		month.Days = append(month.Days, day)
	}
	var a answers
	for i := range 200 {
		k := answerKey{category: "repair", from: int64(i % 150)}
		a.put(k, &answer{res: month})
		if a.bytes > maxAnswerBytes {
			t.Fatalf("after %d answers: %d bytes kept, budget %d", i+1, a.bytes, maxAnswerBytes)
		}
		if a.get(k) == nil {
			t.Fatalf("answer %d not kept", i)
		}
		sum := 0
		for _, e := range a.m {
			sum += e.size
		}
		if sum != a.bytes {
			t.Fatalf("after %d answers the count says %d bytes, the answers hold %d", i+1, a.bytes, sum)
		}
	}
	if len(a.m) < 20 {
		t.Fatalf("only %d month answers kept in %d bytes", len(a.m), maxAnswerBytes)
	}
}

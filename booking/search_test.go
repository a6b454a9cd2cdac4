package booking

import (
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/sizecache"
)

// The answers kept in memory stay within their budget (sizecache's tests), the newest kept,
// and a month of 60 technicians is small enough for many to be kept.
func TestAnswersStayWithinTheirBudget(t *testing.T) {
	month := &SlotResult{} // about a month of 60 technicians
	for d := range 31 {
		day := apphub.SlotDay{Date: time.Date(2027, 3, 1+d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)}
		for range 20 {
			day.Slots = append(day.Slots, apphub.Slot{Resources: make([]apphub.SlotResource, 60)})
		}
		month.Days = append(month.Days, day)
	}
	s := &Service{answers: sizecache.New[answerKey, answer](maxAnswerBytes)}
	for i := range 200 {
		k := answerKey{category: "repair", from: int64(i % 150)}
		s.keep(k, answer{res: month})
		if _, found := s.answers.Get(k); !found {
			t.Fatalf("answer %d not kept", i)
		}
	}
	if n := s.answers.Len(); n < 20 {
		t.Fatalf("only %d month answers kept in %d bytes", n, maxAnswerBytes)
	}
}

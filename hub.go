package apphub

import "time"

// Installation identifies one hub deployment's data: it is created by the first start on an
// empty database and found again by every later start, on any instance.
type Installation struct {
	ID        string
	CreatedAt time.Time
}

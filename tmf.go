package apphub

import (
	"encoding/json"
	"time"
)

// TMF646 has two resources besides appointments: the search task (SearchTimeSlot) and the hub
// registration of a listener (EventSubscription). They hold no time and have no history; their client
// attributes are kept as the raw JSON sent, so that they come back byte-identical.

// Search task statuses (TMF646 SearchTimeSlotStateType) and results.
const (
	SearchInProgress          = "inProgress"
	SearchDone                = "done"
	SearchRejected            = "rejected"
	SearchTerminatedWithError = "terminatedWithError"

	SearchSuccess = "success"
	SearchFail    = "fail"
)

// SearchStatuses lists the statuses a search task may have.
var SearchStatuses = []string{SearchInProgress, SearchDone, SearchRejected, SearchTerminatedWithError}

// SearchTimeSlot is a search task as stored: the hub's own attributes beside the client's.
type SearchTimeSlot struct {
	ID         string
	Version    int
	Status     string    // one of the Search* statuses
	Result     string    // SearchSuccess or SearchFail
	SearchDate time.Time // when the search ran
	UpdatedAt  time.Time
	PartyID    string // the party of who asked
	CreatedBy  string // the Ref of who asked: only they (and operators) read and change it
	// Attributes are the client's attributes and the slots found (availableTimeSlot), as raw JSON.
	Attributes map[string]json.RawMessage
}

// EventSubscription is a listener registered on the hub: events are to be POSTed to Callback.
type EventSubscription struct {
	ID       string
	Callback string
	Query    string
	// Attributes are the registration as sent (callback, query and anything else), as raw JSON.
	Attributes map[string]json.RawMessage
	PartyID    string
	// Owner is who registered it: its events are only those of appointments Owner may read.
	Owner     Principal
	CreatedAt time.Time
}

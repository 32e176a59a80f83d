package sim

import (
	"net/http"
	"time"

	"banshi/internal/platform"
)

// Clock is the development clock control: it moves the clock Banshi and the
// in-process simulators share, so a walkthrough can reach tomorrow's
// appointment, a reminder or a no-show without waiting. It exists only where
// the simulators are mounted, which production refuses.
//
//	GET  /sim/clock                      → {"now","offset"}
//	POST /sim/clock {"advance":"24h"}    → moves forward by a Go duration
//	POST /sim/clock {"to":"<RFC 3339>"}  → moves forward to that instant
//
// Time never runs backwards: a negative advance or a past instant is 409.
type Clock struct {
	clock *platform.OffsetClock
}

// NewClock returns the control of clock.
func NewClock(clock *platform.OffsetClock) *Clock { return &Clock{clock: clock} }

// clockState is the answer of the clock control.
type clockState struct {
	Now    time.Time `json:"now"`
	Offset string    `json:"offset"`
}

// clockRequest is POST /sim/clock's body: exactly one of Advance and To.
type clockRequest struct {
	Advance string `json:"advance"`
	To      string `json:"to"`
}

// Handler serves GET and POST /sim/clock.
func (c *Clock) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sim/clock", func(rw http.ResponseWriter, r *http.Request) {
		writeControl(rw, http.StatusOK, c.state())
	})
	mux.HandleFunc("POST /sim/clock", c.handleMove)
	return mux
}

func (c *Clock) state() clockState {
	return clockState{Now: platform.Local(c.clock.Now()), Offset: c.clock.Offset().String()}
}

func (c *Clock) handleMove(rw http.ResponseWriter, r *http.Request) {
	var req clockRequest
	if err := decodeBody(r, &req); err != nil {
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", "body must be JSON: {\"advance\":\"24h\"} or {\"to\":\"2026-03-16T08:30:00+08:00\"}")
		return
	}
	var err error
	switch {
	case (req.Advance == "") == (req.To == ""):
		writeControlError(rw, http.StatusBadRequest, "invalid_argument", "give exactly one of advance and to")
		return
	case req.Advance != "":
		d, perr := time.ParseDuration(req.Advance)
		if perr != nil {
			writeControlError(rw, http.StatusBadRequest, "invalid_argument", "advance must be a Go duration such as 90m or 24h")
			return
		}
		err = c.clock.Advance(d)
	default:
		t, perr := time.Parse(time.RFC3339, req.To)
		if perr != nil {
			writeControlError(rw, http.StatusBadRequest, "invalid_argument", "to must be an RFC 3339 time such as 2026-03-16T08:30:00+08:00")
			return
		}
		err = c.clock.AdvanceTo(t)
	}
	if err != nil {
		writeControlError(rw, http.StatusConflict, "clock_backwards", err.Error())
		return
	}
	writeControl(rw, http.StatusOK, c.state())
}

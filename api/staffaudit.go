package api

import (
	"bytes"
	"cmp"
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/internal/staff"
)

// auditTimeout bounds the write of one audit record. The write does not
// depend on the request: a client that disconnects after its action
// committed still leaves the record.
const auditTimeout = 3 * time.Second

// piiActions are the staff actions whose answers show citizens' names (and
// masked ID numbers). Such an answer is held back until its audit record is
// written, and refused (503 audit_unavailable) when it cannot be: nobody
// reads citizens' data without a trace. A new route that shows citizens'
// data must be listed here.
var piiActions = map[string]bool{
	"appointments.list":     true, // the day list and its CSV export
	"appointments.checkin":  true,
	"appointments.complete": true,
	"appointments.cancel":   true, // a staff cancel answers the staff view, with the name
	"licences.verify":       true, // the licence face, the holder's name masked
}

// heldResponse is an http.ResponseWriter that keeps the answer (status,
// headers, body) in memory, to be sent or dropped.
type heldResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newHeldResponse() *heldResponse { return &heldResponse{header: http.Header{}} }

func (h *heldResponse) Header() http.Header         { return h.header }
func (h *heldResponse) Write(b []byte) (int, error) { return h.body.Write(b) }
func (h *heldResponse) WriteHeader(status int)      { h.status = status }

// writeAudit writes e with a context of its own (not cancelled with the
// request, bounded by auditTimeout).
func (st StaffRoutes) writeAudit(ctx context.Context, e staff.Entry) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	return st.Auth.Audit(actx, e)
}

// holdAnswer runs next with the answer held in memory when action shows
// citizens' data. It returns a function that, once the audit record is
// written (recorded reports whether it was), sends the held answer or drops
// it for errAuditUnavailable, and next's error.
func holdAnswer(c echo.Context, action string, next echo.HandlerFunc) (finish func(recorded bool) error, err error) {
	if !piiActions[action] {
		return func(bool) error { return nil }, next(c)
	}
	res := c.Response()
	real := res.Writer
	held := newHeldResponse()
	res.Writer = held
	defer func() {
		if r := recover(); r != nil {
			res.Writer = real // the panic's 500 must reach the client
			panic(r)
		}
	}()
	err = next(c)
	return func(recorded bool) error {
		// Nothing was sent: the response starts afresh on the real writer
		// (the headers set before the handler stay; the handler's are held).
		res.Writer, res.Committed, res.Status, res.Size = real, false, http.StatusOK, 0
		if err != nil || (held.status == 0 && held.body.Len() == 0) {
			return nil // nothing held: an error is answered by the error handler
		}
		if !recorded {
			return errAuditUnavailable
		}
		for k, v := range held.header {
			res.Header()[k] = v
		}
		res.WriteHeader(cmp.Or(held.status, http.StatusOK))
		_, werr := res.Write(held.body.Bytes())
		return werr
	}, err
}

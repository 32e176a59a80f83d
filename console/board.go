package console

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"banshi/appointments"
)

// QueueBoard is what a hall's queue display shows: the latest calls and how
// many wait. It carries no names.
type QueueBoard = appointments.QueueBoard

// QueueCall is one call of a queue number to a window.
type QueueCall = appointments.QueueCall

// QueueBoards feeds the hall displays.
type QueueBoards interface {
	QueueBoard(ctx context.Context, hallID string) (QueueBoard, error)
	// WatchQueue ticks on every change of the hall's queue; the channel is
	// closed when ctx ends.
	WatchQueue(ctx context.Context, hallID string) (<-chan struct{}, error)
}

// errNoBoards answers the display pages while no QueueBoards is wired.
var errNoBoards = errors.New("queue boards not configured")

func (c *Console) board(ctx context.Context, hallID string) (QueueBoard, error) {
	if c.boards == nil {
		return QueueBoard{}, errNoBoards
	}
	return c.boards.QueueBoard(ctx, hallID)
}

// boardError answers a display request whose board could not be read.
func (c *Console) boardError(ec echo.Context, err error) error {
	if errors.Is(err, errNoBoards) || statusOf(err) == http.StatusNotFound {
		return c.errorPage(ec, http.StatusNotFound, "没有这个大厅的叫号屏")
	}
	return c.errorPage(ec, statusOf(err), c.messageOf(ec, err))
}

// display is a hall's queue display: no login, queue numbers and windows
// only.
func (c *Console) display(ec echo.Context) error {
	b, err := c.board(ec.Request().Context(), ec.Param("hall_id"))
	if err != nil {
		return c.boardError(ec, err)
	}
	return c.render(ec, http.StatusOK, "display", view{Title: b.HallName + " 叫号", Data: b})
}

// displayEvents streams the board: an "event: board" with the rendered
// fragment at connect and on every change, a comment heartbeat in between,
// until the client goes.
func (c *Console) displayEvents(ec echo.Context) error {
	ctx := ec.Request().Context()
	hallID := ec.Param("hall_id")
	b, err := c.board(ctx, hallID)
	if err != nil {
		return c.boardError(ec, err)
	}
	ticks, err := c.boards.WatchQueue(ctx, hallID)
	if err != nil {
		return c.boardError(ec, err)
	}
	w := ec.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream; charset=utf-8")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(p []byte) error {
		// The server's write timeout would cut a long stream: extend it per write.
		_ = rc.SetWriteDeadline(time.Now().Add(2 * c.heartbeat))
		if _, err := w.Write(p); err != nil {
			return err
		}
		w.Flush()
		return nil
	}
	if err := send(c.boardEvent(ctx, b)); err != nil {
		return nil
	}
	beat := time.NewTicker(c.heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-beat.C:
			if err := send([]byte(": heartbeat\n\n")); err != nil {
				return nil
			}
		case _, ok := <-ticks:
			if !ok {
				return nil
			}
			nb, err := c.boards.QueueBoard(ctx, hallID)
			if err != nil {
				c.log.WarnContext(ctx, "queue board not read", "hall", hallID, "err", err)
				continue
			}
			if err := send(c.boardEvent(ctx, nb)); err != nil {
				return nil
			}
		}
	}
}

// boardEvent renders the board fragment as one SSE event.
func (c *Console) boardEvent(ctx context.Context, b QueueBoard) []byte {
	var frag bytes.Buffer
	if err := c.pages["display"].ExecuteTemplate(&frag, "board", b); err != nil {
		c.log.ErrorContext(ctx, "board template failed", "err", err)
		return []byte(": render failed\n\n")
	}
	var out bytes.Buffer
	out.WriteString("event: board\n")
	for line := range strings.SplitSeq(strings.TrimRight(frag.String(), "\n"), "\n") {
		out.WriteString("data: " + strings.TrimRight(line, "\r") + "\n")
	}
	out.WriteString("\n")
	return out.Bytes()
}

package subscribe

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"banshi/internal/wechat"
	"banshi/notify"
)

// ChannelName is the outbox channel of WeChat subscribe messages.
const ChannelName = "wechat_subscribe"

// Channel delivers messages as WeChat subscribe messages: a notify.Channel.
type Channel struct{ s *Service }

var _ notify.Channel = Channel{}

// Channel returns the service's notify.Channel.
func (s *Service) Channel() Channel { return Channel{s: s} }

// Name is ChannelName.
func (Channel) Name() string { return ChannelName }

// busyBackoff is the least wait after WeChat's rate limit (45011).
const busyBackoff = time.Minute

// Deliver sends d.Message with the template of its kind, spending one of
// the citizen's credits for it. Outcomes: Skip "no_openid" (the citizen
// never used the mini-program), "no_template" (no template for the kind),
// "no_credit" (Banshi knows no credit), "43101" (WeChat knows none: the
// count is set to zero); Permanent "template_data" (a value that no rule
// fits, found before anything is spent) and "40003", "40037", "41030",
// "47003" (the credit is given back); RetryAfter "45011" (at least a
// minute), the errcode (-1, 40001/42001 left after the client's one
// refresh, others) or "upstream" (5xx, network), the credit given back.
// A send whose answer was lost gives the credit back too: should WeChat
// have spent it, the next send's 43101 corrects the count.
func (c Channel) Deliver(ctx context.Context, d notify.Delivery) error {
	s, m := c.s, d.Message
	// Template, then credit, then openid: most citizens hold no credit for
	// most messages, and that is answered with the fewest reads.
	t, ok, err := s.templates.Get(ctx, m.Kind)
	if err != nil {
		return err
	}
	if !ok {
		return notify.Skip("no_template")
	}
	page, data, err := t.Render(m)
	if err != nil {
		return notify.Permanent("template_data", err)
	}
	epoch, ok, err := s.credits.take(ctx, m.UserID, t.TemplateID)
	if err != nil {
		return err
	}
	if !ok {
		return notify.Skip("no_credit")
	}
	openID, err := s.users.MiniOpenID(ctx, m.UserID)
	if err != nil || openID == "" {
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if gerr := s.credits.giveBack(bg, m.UserID, t.TemplateID, epoch); gerr != nil {
			s.log.WarnContext(ctx, "subscribe credit not given back", "user_id", m.UserID, "template_id", t.TemplateID, "err", gerr)
		}
		if err != nil {
			return fmt.Errorf("subscribe: find openid: %w", err)
		}
		return notify.Skip("no_openid")
	}
	err = s.sender.SendSubscribe(ctx, openID, t.TemplateID, page, data)
	if err == nil {
		return nil
	}
	// What follows must happen even when the send's context ended.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	code := wechat.Errcode(err)
	if code == 43101 {
		if _, zerr := s.credits.change(bg, m.UserID, t.TemplateID, "", func(d *creditDoc, now time.Time) {
			d.zero(now, sourceSend, "43101", "43101")
		}); zerr != nil {
			s.log.WarnContext(ctx, "subscribe credit not zeroed after 43101", "user_id", m.UserID, "template_id", t.TemplateID, "err", zerr)
		}
		return notify.Skip("43101")
	}
	if gerr := s.credits.giveBack(bg, m.UserID, t.TemplateID, epoch); gerr != nil {
		s.log.WarnContext(ctx, "subscribe credit not given back", "user_id", m.UserID, "template_id", t.TemplateID, "err", gerr)
	}
	switch code {
	case 40003, 40037, 41030, 47003:
		if code == 47003 {
			s.log.ErrorContext(ctx, "WeChat refused a subscribe message's data: a template's fields do not fit its values",
				"event", m.Kind, "template_id", t.TemplateID, "err", err)
		}
		return notify.Permanent(strconv.Itoa(code), err)
	case 45011:
		return notify.RetryAfter("45011", busyBackoff, err)
	case 0:
		return notify.RetryAfter("upstream", 0, err)
	default:
		return notify.RetryAfter(strconv.Itoa(code), 0, err)
	}
}

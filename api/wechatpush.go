package api

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"banshi/internal/wechat"
)

// WeChatPush receives WeChat's message push (消息推送).
type WeChatPush interface {
	// VerifyURL answers WeChat's URL check with the echostr.
	VerifyURL(q url.Values) (string, error)
	// Receive verifies, records and hands over one push.
	Receive(ctx context.Context, q url.Values, body []byte) error
}

var _ WeChatPush = (*wechat.PushEvents)(nil)

// wechatPushCheck serves GET /api/v1/hooks/wechat: WeChat's check of the push
// URL, answered with the echostr as plain text once the signature verifies
// (401 wechat_push_unverified otherwise). 404 when push is off.
func (s *Server) wechatPushCheck(c echo.Context) error {
	if s.deps.WeChatPush == nil {
		return errRouteNotFound
	}
	echostr, err := s.deps.WeChatPush.VerifyURL(c.QueryParams())
	if err != nil {
		return err
	}
	return c.String(http.StatusOK, echostr)
}

// wechatPush serves POST /api/v1/hooks/wechat: one push, verified before it
// is parsed, answered "success" once recorded. 401 wechat_push_unverified
// (bad signature, undecryptable) and 400 wechat_push_malformed record
// nothing; a failure to record or hand over is a 5xx, which WeChat retries.
// 404 when push is off.
func (s *Server) wechatPush(c echo.Context) error {
	if s.deps.WeChatPush == nil {
		return errRouteNotFound
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return jsonError(err)
	}
	if err := s.deps.WeChatPush.Receive(c.Request().Context(), c.QueryParams(), body); err != nil {
		return err
	}
	return c.String(http.StatusOK, "success")
}

package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"banshi/notify/subscribe"
	"banshi/privacy"
)

// Subscriptions is what the subscribe-message routes need of the progress
// push's WeChat channel.
type Subscriptions interface {
	Catalog(ctx context.Context) ([]subscribe.Template, error)
	Record(ctx context.Context, userID string, result map[string]string) ([]subscribe.Subscription, error)
}

var _ Subscriptions = (*subscribe.Service)(nil)

// SubscribeRoutes are the subscribe-message routes: the templates the
// mini-program asks the citizen to accept (public), and the citizen's
// answers of wx.requestSubscribeMessage.
type SubscribeRoutes struct {
	Subscriptions Subscriptions
	Consents      ConsentRecorder // nil: accepts are not recorded as consents
}

// Register adds the routes.
func (s SubscribeRoutes) Register(r Router) {
	r.Public.GET("/notify/templates", s.templates)
	r.Citizen(http.MethodPost, "/me/subscriptions", s.record)
}

// templateView is one template as the mini-program needs it for
// wx.requestSubscribeMessage.
type templateView struct {
	Event      string            `json:"event"`
	TemplateID string            `json:"template_id"`
	Title      string            `json:"title"`
	Fields     []subscribe.Field `json:"fields"`
}

func (s SubscribeRoutes) templates(c echo.Context) error {
	ts, err := s.Subscriptions.Catalog(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]templateView, len(ts))
	for i, t := range ts {
		out[i] = templateView{Event: t.Event, TemplateID: t.TemplateID, Title: t.Title, Fields: t.Fields}
	}
	return c.JSON(http.StatusOK, map[string]any{"templates": out})
}

// record takes the result object of wx.requestSubscribeMessage as it is:
// {"<template id>": "accept"|"reject"|"ban"|"filter", "errMsg": "…:ok"}.
func (s SubscribeRoutes) record(c echo.Context) error {
	var result map[string]string
	if err := bindJSON(c, &result); err != nil {
		return err
	}
	subs, err := s.Subscriptions.Record(c.Request().Context(), userID(c), result)
	if err != nil {
		return err
	}
	if s.Consents != nil {
		for _, sub := range subs {
			if sub.Result != subscribe.ResultAccept {
				continue
			}
			if _, err := s.Consents.Record(c.Request().Context(), userID(c), privacy.PurposeSubscribe, sub.TemplateID); err != nil {
				return err
			}
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"subscriptions": subs})
}

package subscribe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"banshi/internal/platform"
	"banshi/internal/wechat"
)

// Users maps WeChat mini-program openids to Banshi's users and back; the
// wiring implements it over the citizen store.
type Users interface {
	// UserByMiniOpenID returns the user who logs in to the mini-program
	// with openID, "" (and no error) when nobody does.
	UserByMiniOpenID(ctx context.Context, openID string) (string, error)
	// MiniOpenID returns the user's mini-program openid, "" (and no error)
	// when the user has none (never logged in there) or does not exist.
	MiniOpenID(ctx context.Context, userID string) (string, error)
}

// Sender sends one subscribe message: *wechat.Client. Errors keep WeChat's
// errcode (wechat.Errcode).
type Sender interface {
	SendSubscribe(ctx context.Context, openID, templateID, page string, data map[string]string) error
}

var _ Sender = (*wechat.Client)(nil)

// Deps is what the Service needs.
type Deps struct {
	DB     *mongo.Database
	Sender Sender
	Users  Users
	Clock  platform.Clock
	Log    *slog.Logger // nil: discard
	// Window is how long an accept reported by one source (the mini-program
	// or WeChat's push) waits to be matched by the other's report of the
	// same accept [10 min].
	Window time.Duration
}

// Service keeps templates and credits, consumes WeChat's subscribe events
// (wechat.EventConsumer) and the mini-program's subscribe results, and
// provides the channel (Channel).
type Service struct {
	templates *Templates
	credits   *credits
	sender    Sender
	users     Users
	clock     platform.Clock
	log       *slog.Logger
}

var _ wechat.EventConsumer = (*Service)(nil)

// New returns the service. Errors: a missing dependency.
func New(d Deps) (*Service, error) {
	if d.DB == nil || d.Sender == nil || d.Users == nil || d.Clock == nil {
		return nil, errors.New("subscribe: DB, Sender, Users and Clock are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Window <= 0 {
		d.Window = 10 * time.Minute
	}
	return &Service{
		templates: NewTemplates(d.DB, d.Clock),
		credits:   &credits{coll: d.DB.Collection(collCredits), clock: d.Clock, window: d.Window},
		sender:    d.Sender, users: d.Users, clock: d.Clock, log: d.Log,
	}, nil
}

// Templates returns the template store.
func (s *Service) Templates() *Templates { return s.templates }

// EnsureIndexes creates the indexes of the credits (by user).
func (s *Service) EnsureIndexes(ctx context.Context) error {
	_, err := s.credits.coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "user_id", Value: 1}}})
	if err != nil {
		return fmt.Errorf("subscribe credit indexes: %w", err)
	}
	return nil
}

// SeedDemo stores DemoTemplates for kinds without a template.
func (s *Service) SeedDemo(ctx context.Context) error { return s.templates.Seed(ctx, DemoTemplates()) }

// Catalog returns the templates the mini-program may ask the citizen to
// accept, by event kind.
func (s *Service) Catalog(ctx context.Context) ([]Template, error) { return s.templates.List(ctx) }

// Subscription is a template's state for a citizen after a result was
// recorded.
type Subscription struct {
	TemplateID string `json:"template_id"`
	Result     string `json:"result"`
	Credits    int    `json:"credits"` // sends Banshi may attempt
}

// errMsgOK is the errMsg of a successful wx.requestSubscribeMessage.
const errMsgOK = "requestSubscribeMessage:ok"

// maxResults bounds the templates of one result (a popup asks for at most 3).
const maxResults = 3

// Record records the result object of wx.requestSubscribeMessage for
// userID: {"<template id>": "accept"|"reject"|"ban"|"filter", "errMsg":
// "requestSubscribeMessage:ok"}. An accept adds a credit unless WeChat's
// push of the same accept came first (then it confirms it); ban sets the
// count to zero; reject and filter are only logged (earlier accepts'
// credits stay with WeChat). Everything is checked before anything is
// written. Errors: invalid_argument (no template; more than 3; a template
// Banshi does not list, field = its id, check unknown_template; a result
// other than the four, check enum; an errMsg other than the success one),
// storage errors.
func (s *Service) Record(ctx context.Context, userID string, result map[string]string) ([]Subscription, error) {
	listed, err := s.templates.List(ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, t := range listed {
		known[t.TemplateID] = true
	}
	var ids []string
	for k, v := range result {
		if k == "errMsg" {
			if v != errMsgOK {
				return nil, platform.Invalid("errMsg", "enum", "只能提交 wx.requestSubscribeMessage 成功的结果")
			}
			continue
		}
		field := k
		if len(field) > 128 {
			field = "body"
		}
		if !known[k] {
			return nil, platform.Invalid(field, "unknown_template", "未知的订阅消息模板")
		}
		switch v {
		case ResultAccept, ResultReject, ResultBan, ResultFilter:
		default:
			return nil, platform.Invalid(field, "enum", "订阅结果应为 accept、reject、ban 或 filter")
		}
		ids = append(ids, k)
	}
	switch {
	case len(ids) == 0:
		return nil, platform.Invalid("body", "required", "缺少模板的订阅结果")
	case len(ids) > maxResults:
		return nil, platform.Invalid("body", "length", "一次最多提交 3 个模板的订阅结果")
	}
	slices.Sort(ids)
	out := make([]Subscription, 0, len(ids))
	for _, id := range ids {
		word := result[id]
		d, err := s.credits.change(ctx, userID, id, "", func(d *creditDoc, now time.Time) {
			switch word {
			case ResultAccept:
				d.accept(now, sourceClient)
			case ResultBan:
				d.zero(now, sourceClient, ResultBan, "")
			default:
				d.log(now, sourceClient, word, "")
			}
		})
		if err != nil {
			return nil, err
		}
		out = append(out, Subscription{TemplateID: id, Result: word, Credits: d.Count})
	}
	return out, nil
}

// HandleWeChatEvent acts on WeChat's subscribe events (wechat.EventConsumer):
// a popup accept adds a credit unless the mini-program reported the same
// accept first (then it confirms it); a change event's reject (turned off)
// sets the count to zero; a popup reject and a sent event are logged.
// Templates Banshi does not list and openids of nobody are ignored. It is
// idempotent per event id and item: an event handed over again changes
// nothing. Errors: storage errors (WeChat's retry hands the event over
// again).
func (s *Service) HandleWeChatEvent(ctx context.Context, id string, ev wechat.Event) error {
	switch ev.Event {
	case wechat.EventSubscribePopup, wechat.EventSubscribeChange, wechat.EventSubscribeSent:
	default:
		return nil
	}
	userID, err := s.users.UserByMiniOpenID(ctx, ev.FromUserName)
	if err != nil {
		return fmt.Errorf("subscribe event: find user: %w", err)
	}
	if userID == "" {
		s.log.DebugContext(ctx, "subscribe event for an openid Banshi does not know", "event_id", id)
		return nil
	}
	listed, err := s.templates.List(ctx)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, t := range listed {
		known[t.TemplateID] = true
	}
	apply := func(i int, templateID string, fn func(d *creditDoc, now time.Time)) error {
		if !known[templateID] {
			return nil
		}
		_, err := s.credits.change(ctx, userID, templateID, id+"#"+strconv.Itoa(i), fn)
		return err
	}
	for i, it := range ev.Popup {
		status := it.Status
		if err := apply(i, it.TemplateID, func(d *creditDoc, now time.Time) {
			if status == ResultAccept {
				d.accept(now, sourcePush)
			} else {
				d.log(now, sourcePush, status, "")
			}
		}); err != nil {
			return err
		}
	}
	for i, it := range ev.Change {
		status := it.Status
		if err := apply(i, it.TemplateID, func(d *creditDoc, now time.Time) {
			if status == ResultReject {
				d.zero(now, sourcePush, "turned_off", "")
			} else {
				d.log(now, sourcePush, "change_"+status, "")
			}
		}); err != nil {
			return err
		}
	}
	for i, it := range ev.Sent {
		code := strconv.Itoa(it.ErrorCode)
		if err := apply(i, it.TemplateID, func(d *creditDoc, now time.Time) {
			d.log(now, sourcePush, "sent", code)
		}); err != nil {
			return err
		}
	}
	return nil
}

// Credit is a citizen's credit for a template with its recent history.
type Credit struct {
	TemplateID string     `json:"template_id"`
	Count      int        `json:"count"`
	Log        []LogEntry `json:"log"`
}

// Credit returns userID's credit for templateID (zero when none).
func (s *Service) Credit(ctx context.Context, userID, templateID string) (Credit, error) {
	d, err := s.credits.get(ctx, userID, templateID)
	if err != nil {
		return Credit{}, err
	}
	log := make([]LogEntry, len(d.Log))
	for i, e := range d.Log {
		e.At = platform.Local(e.At)
		log[i] = e
	}
	return Credit{TemplateID: templateID, Count: d.Count, Log: log}, nil
}

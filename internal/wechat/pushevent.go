package wechat

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Events of subscribe messages that WeChat pushes.
const (
	EventSubscribePopup  = "subscribe_msg_popup_event"  // the user accepted or rejected templates in the popup
	EventSubscribeChange = "subscribe_msg_change_event" // the user turned templates off later (only "reject" is pushed)
	EventSubscribeSent   = "subscribe_msg_sent_event"   // the delivery result of a sent message
)

// Event is one pushed message, parsed. The item lists are filled for the
// subscribe events; other events and messages keep only the common fields.
type Event struct {
	ToUserName   string       // the mini-program's original id (gh_…)
	FromUserName string       // the user's openid
	CreateTime   int64        // Unix seconds
	MsgType      string       // "event" for events
	Event        string       // EventSubscribePopup, … (empty for plain messages)
	MsgID        string       // MsgId of a plain message (text, image, …), else empty
	Popup        []PopupItem  // EventSubscribePopup
	Change       []ChangeItem // EventSubscribeChange
	Sent         []SentItem   // EventSubscribeSent
}

// PopupItem is one template's decision in the subscribe popup.
type PopupItem struct {
	TemplateID string `json:"template_id" bson:"template_id"`
	Status     string `json:"status" bson:"status"` // accept | reject
	Scene      int    `json:"scene" bson:"scene"`   // 0: inside the mini-program
}

// ChangeItem is one template the user changed in the settings.
type ChangeItem struct {
	TemplateID string `json:"template_id" bson:"template_id"`
	Status     string `json:"status" bson:"status"` // reject (WeChat pushes only turning off)
}

// SentItem is the delivery result of one subscribe message.
type SentItem struct {
	TemplateID  string `json:"template_id" bson:"template_id"`
	MsgID       string `json:"msg_id" bson:"msg_id"` // the msgid subscribe/send answered, as digits
	ErrorCode   int    `json:"error_code" bson:"error_code"`
	ErrorStatus string `json:"error_status" bson:"error_status"` // success | fail: …
}

// maxPushItems bounds the items read from one push (a popup holds at most 3).
const maxPushItems = 100

// ParseEvent parses a verified (and, in safe mode, decrypted) message, XML
// or JSON as its first character says. In JSON, List may be an object (one
// item), an array, or wrapped as {"SubscribeMsgPopupEvent":{"List":…}} (and
// likewise for change and sent); in XML the repeated <List> may be wrapped
// or not. Numbers may come as strings or integers. Errors describe what is
// wrong; the message is not echoed.
func ParseEvent(msg []byte) (Event, error) {
	var (
		w   wireMessage
		err error
	)
	switch firstByte(msg) {
	case '<':
		err = w.fromXML(msg)
	case '{':
		err = w.fromJSON(msg)
	default:
		return Event{}, errors.New("message is neither XML nor JSON")
	}
	if err != nil {
		return Event{}, err
	}
	return w.event()
}

// wireMessage is a pushed message before it is typed: every value as text.
type wireMessage struct {
	ToUserName, FromUserName, CreateTime, MsgType, Event, MsgID string
	Items                                                       []wireItem
}

// wireItem is one List item, every field as text.
type wireItem struct {
	TemplateID, SubscribeStatusString, PopupScene, MsgID, ErrorCode, ErrorStatus string
}

// xmlItem is a <List> element.
type xmlItem struct {
	TemplateID            string `xml:"TemplateId"`
	SubscribeStatusString string `xml:"SubscribeStatusString"`
	PopupScene            string `xml:"PopupScene"`
	MsgID                 string `xml:"MsgID"`
	ErrorCode             string `xml:"ErrorCode"`
	ErrorStatus           string `xml:"ErrorStatus"`
}

func (x xmlItem) wire() wireItem { return wireItem(x) }

func (w *wireMessage) fromXML(msg []byte) error {
	var x struct {
		XMLName      xml.Name  `xml:"xml"`
		ToUserName   string    `xml:"ToUserName"`
		FromUserName string    `xml:"FromUserName"`
		CreateTime   string    `xml:"CreateTime"`
		MsgType      string    `xml:"MsgType"`
		Event        string    `xml:"Event"`
		MsgID        string    `xml:"MsgId"`
		List         []xmlItem `xml:"List"`
		Popup        []xmlItem `xml:"SubscribeMsgPopupEvent>List"`
		Change       []xmlItem `xml:"SubscribeMsgChangeEvent>List"`
		Sent         []xmlItem `xml:"SubscribeMsgSentEvent>List"`
	}
	if err := xml.Unmarshal(msg, &x); err != nil {
		return fmt.Errorf("XML message: %w", err)
	}
	*w = wireMessage{ToUserName: x.ToUserName, FromUserName: x.FromUserName, CreateTime: x.CreateTime,
		MsgType: x.MsgType, Event: x.Event, MsgID: x.MsgID}
	for _, list := range [][]xmlItem{x.List, x.Popup, x.Change, x.Sent} {
		for _, it := range list {
			w.Items = append(w.Items, it.wire())
		}
	}
	return nil
}

// flexText is a JSON string or number, kept as text.
type flexText string

func (f *flexText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexText(s)
	case string(b) == "null":
		*f = ""
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return errors.New("want a string or a number")
		}
		*f = flexText(n.String())
	}
	return nil
}

// jsonItem is a List item in JSON.
type jsonItem struct {
	TemplateID            flexText `json:"TemplateId"`
	SubscribeStatusString flexText `json:"SubscribeStatusString"`
	PopupScene            flexText `json:"PopupScene"`
	MsgID                 flexText `json:"MsgID"`
	ErrorCode             flexText `json:"ErrorCode"`
	ErrorStatus           flexText `json:"ErrorStatus"`
}

// jsonList is List as an object (one item) or an array.
type jsonList []jsonItem

func (l *jsonList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '[':
		var items []jsonItem
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		*l = items
	case len(b) > 0 && b[0] == '{':
		var it jsonItem
		if err := json.Unmarshal(b, &it); err != nil {
			return err
		}
		*l = jsonList{it}
	case string(b) == "null":
		*l = nil
	default:
		return errors.New("the List must be an object or an array")
	}
	return nil
}

// jsonWrapped is {"List": …} under SubscribeMsgPopupEvent (and the others).
type jsonWrapped struct {
	List jsonList `json:"List"`
}

func (w *wireMessage) fromJSON(msg []byte) error {
	var j struct {
		ToUserName   flexText     `json:"ToUserName"`
		FromUserName flexText     `json:"FromUserName"`
		CreateTime   flexText     `json:"CreateTime"`
		MsgType      flexText     `json:"MsgType"`
		Event        flexText     `json:"Event"`
		MsgID        flexText     `json:"MsgId"`
		List         jsonList     `json:"List"`
		Popup        *jsonWrapped `json:"SubscribeMsgPopupEvent"`
		Change       *jsonWrapped `json:"SubscribeMsgChangeEvent"`
		Sent         *jsonWrapped `json:"SubscribeMsgSentEvent"`
	}
	if err := json.Unmarshal(msg, &j); err != nil {
		return fmt.Errorf("JSON message: %w", err)
	}
	*w = wireMessage{ToUserName: string(j.ToUserName), FromUserName: string(j.FromUserName), CreateTime: string(j.CreateTime),
		MsgType: string(j.MsgType), Event: string(j.Event), MsgID: string(j.MsgID)}
	lists := []jsonList{j.List}
	for _, wrapped := range []*jsonWrapped{j.Popup, j.Change, j.Sent} {
		if wrapped != nil {
			lists = append(lists, wrapped.List)
		}
	}
	for _, list := range lists {
		for _, it := range list {
			w.Items = append(w.Items, wireItem{string(it.TemplateID), string(it.SubscribeStatusString), string(it.PopupScene),
				string(it.MsgID), string(it.ErrorCode), string(it.ErrorStatus)})
		}
	}
	return nil
}

// event types the wire message.
func (w wireMessage) event() (Event, error) {
	if w.FromUserName == "" || w.MsgType == "" {
		return Event{}, errors.New("message without FromUserName or MsgType")
	}
	created, err := strconv.ParseInt(strings.TrimSpace(w.CreateTime), 10, 64)
	if err != nil || created <= 0 {
		return Event{}, errors.New("CreateTime is not a positive integer")
	}
	if len(w.Items) > maxPushItems {
		return Event{}, fmt.Errorf("more than %d List items", maxPushItems)
	}
	ev := Event{ToUserName: w.ToUserName, FromUserName: w.FromUserName, CreateTime: created,
		MsgType: w.MsgType, Event: w.Event, MsgID: strings.TrimSpace(w.MsgID)}
	for _, it := range w.Items {
		if it.TemplateID == "" {
			return Event{}, errors.New("a List item without TemplateId")
		}
		switch ev.Event {
		case EventSubscribePopup:
			scene, err := optionalInt(it.PopupScene)
			if err != nil {
				return Event{}, fmt.Errorf("PopupScene: %w", err)
			}
			ev.Popup = append(ev.Popup, PopupItem{TemplateID: it.TemplateID, Status: it.SubscribeStatusString, Scene: scene})
		case EventSubscribeChange:
			ev.Change = append(ev.Change, ChangeItem{TemplateID: it.TemplateID, Status: it.SubscribeStatusString})
		case EventSubscribeSent:
			code, err := optionalInt(it.ErrorCode)
			if err != nil {
				return Event{}, fmt.Errorf("ErrorCode: %w", err)
			}
			msgID := strings.TrimSpace(it.MsgID)
			if _, err := strconv.ParseUint(msgID, 10, 64); err != nil {
				return Event{}, errors.New("MsgID is not a number")
			}
			ev.Sent = append(ev.Sent, SentItem{TemplateID: it.TemplateID, MsgID: msgID, ErrorCode: code, ErrorStatus: it.ErrorStatus})
		}
	}
	return ev, nil
}

// optionalInt parses an integer given as text; empty is 0.
func optionalInt(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errors.New("not an integer")
	}
	return n, nil
}

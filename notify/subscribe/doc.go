// Package subscribe is the WeChat subscribe-message channel of the progress
// push (订阅消息): which template tells which event kind and how a Message's
// values fill its fields (Templates, Fit), how many one-time sends each
// citizen granted per template (Credits), and the notify.Channel that spends
// them (Channel).
//
// A one-time template gives one send per accept. Banshi learns of accepts
// twice: from the mini-program (the result of wx.requestSubscribeMessage,
// POST /api/v1/me/subscriptions) and, authoritatively, from WeChat's
// message push (subscribe_msg_popup_event, _change_event, _sent_event,
// handed over as a wechat.EventConsumer). Both describe the same accept, so
// each one first confirms an unconfirmed accept of the other source for the
// same user and template within Window, and only adds a credit when there
// is none. A send is attempted only with a credit, taken by a conditional
// update (two dispatchers racing for one credit: one sends), and given back
// when WeChat did not spend it; 43101 (WeChat knows no credit) sets the
// count to zero.
package subscribe

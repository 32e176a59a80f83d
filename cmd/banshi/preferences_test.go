package main

import (
	"encoding/json"
	"testing"
)

// TestNotificationPreferencesOverHTTP: a citizen reads the defaults, turns
// reminders off on FCM and moves the quiet hours; every bad request answers
// 4xx and leaves the preferences as they were.
func TestNotificationPreferencesOverHTTP(t *testing.T) {
	s := getStack(t)
	token, _ := s.login(t, s.newPerson(t))
	const path = apiV1 + "/me/notification-preferences"
	def := s.must(t, 200, s.call(t, "GET", path, token, nil))
	if def.str("quiet_hours", "start") != "22:00" || def.str("quiet_hours", "end") != "08:00" || def.str("time_zone") != "Asia/Shanghai" {
		t.Fatalf("defaults: %s", def.Raw)
	}
	if a := s.call(t, "GET", path, "", nil); a.Status != 401 {
		t.Fatalf("anonymous: %d", a.Status)
	}
	channel := "inbox" // always present; fcm or wechat_subscribe when configured
	var prefs struct {
		Kinds []struct {
			Kind     string          `json:"kind"`
			Channels map[string]bool `json:"channels"`
		} `json:"kinds"`
	}
	if err := json.Unmarshal(def.Raw, &prefs); err != nil || len(prefs.Kinds) == 0 {
		t.Fatalf("kinds: %v %s", err, def.Raw)
	}
	for c := range prefs.Kinds[0].Channels {
		if c != "inbox" {
			channel = c
		}
	}
	good := map[string]any{"quiet_hours": map[string]any{"enabled": true, "start": "22:30", "end": "07:30"}}
	if channel != "inbox" {
		good["kinds"] = []any{map[string]any{"kind": "appointment_reminder", "channels": map[string]bool{channel: false}}}
	}
	saved := s.must(t, 200, s.call(t, "PUT", path, token, good))
	if saved.str("quiet_hours", "start") != "22:30" {
		t.Fatalf("saved: %s", saved.Raw)
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"unknown kind", map[string]any{"kinds": []any{map[string]any{"kind": "lottery"}}}, 400, "invalid_argument"},
		{"unknown channel", map[string]any{"kinds": []any{map[string]any{"kind": "appointment_booked", "channels": map[string]bool{"sms": false}}}}, 400, "invalid_argument"},
		{"inbox off", map[string]any{"kinds": []any{map[string]any{"kind": "appointment_booked", "channels": map[string]bool{"inbox": false}}}}, 422, "inbox_required"},
		{"bad time", map[string]any{"quiet_hours": map[string]any{"enabled": true, "start": "7pm", "end": "08:00"}}, 400, "invalid_argument"},
		{"unknown field", map[string]any{"quiet": true}, 400, "invalid_argument"},
		{"wrong type", map[string]any{"kinds": "all"}, 400, "invalid_argument"},
		{"not JSON", "{", 400, "invalid_argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.call(t, "PUT", path, token, tc.body)
			if a.Status != tc.status || a.errCode() != tc.code {
				t.Fatalf("%d %s, want %d %s", a.Status, a.Raw, tc.status, tc.code)
			}
			if now := s.must(t, 200, s.call(t, "GET", path, token, nil)); string(now.Raw) != string(saved.Raw) {
				t.Fatalf("changed by a refused request:\n%s\n%s", saved.Raw, now.Raw)
			}
		})
	}
}

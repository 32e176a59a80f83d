package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"banshi/internal/account"
)

// loginCitizen plays a citizen's phone against the in-process WeChat
// simulator: it registers a WeChat user, logs in through the mini-program
// and declares an identity (level 2). It returns the session token.
func loginCitizen(ctx context.Context, base string) (string, error) {
	return newCitizen(ctx, base, account.WithCheckDigit("44010619900101"+fmt.Sprintf("%03d", time.Now().Nanosecond()%1000)))
}

// postJSON posts body as JSON to base+path (with token as Bearer, if any)
// and decodes the answer into out (if not nil). Errors: transport errors,
// and answers of 300 or above (with their body).
func postJSON(ctx context.Context, base, path, token string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s: %d %s", path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// firstService returns the ID of the first service item of hallID, read
// through the public API.
func firstService(ctx context.Context, base, hallID string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/halls/"+hallID+"/services", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Services []struct{ ID string } `json:"services"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Services) == 0 {
		return "", fmt.Errorf("no services at %s: %v", hallID, err)
	}
	return body.Services[0].ID, nil
}

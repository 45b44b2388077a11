package seed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// APIKey is a key made through POST /v1/api-keys.
type APIKey struct {
	ID     string
	Secret string // X-Api-Key
}

// CreateAPIKey asks the stack at url, as the admin whose token is token, for a key of
// stores with perms (and rate requests per minute; 0 for the default).
func CreateAPIKey(ctx context.Context, url, token, name string, stores, perms []string, rate int) (APIKey, error) {
	body := map[string]any{"name": name, "stores": stores, "permissions": perms}
	if rate > 0 {
		body["ratePerMinute"] = rate
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return APIKey{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/api-keys", bytes.NewReader(raw))
	if err != nil {
		return APIKey{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return APIKey{}, fmt.Errorf("create API key: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return APIKey{}, fmt.Errorf("create API key: %s %s", resp.Status, b)
	}
	var out struct {
		Key struct {
			ID string `json:"id"`
		} `json:"key"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Secret == "" {
		return APIKey{}, fmt.Errorf("create API key: answer %s: %v", b, err)
	}
	return APIKey{ID: out.Key.ID, Secret: out.Secret}, nil
}

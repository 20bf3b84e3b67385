// Package crowdsec makes a CrowdSec Local API (LAPI) the enforcement engine
// for a fleet: irtui's blocks become ban decisions on the LAPI, and every
// CrowdSec bouncer of every host (firewall, nginx, cloud) applies them. It
// holds the LAPI client (machine login, alerts, decisions), the block
// Backend built on it, and the conversion of CrowdSec's own alerts into
// findings for the console.
//
// Written against the LAPI of CrowdSec 1.4.6 (Debian bookworm): machines
// log in with POST /v1/watchers/login, push decisions inside an alert with
// POST /v1/alerts, read alerts (with their decisions) with GET /v1/alerts,
// and remove one decision with DELETE /v1/decisions/{id}. DELETE /v1/alerts
// is refused to machines outside the LAPI's trusted_ips, and DELETE
// /v1/decisions with a filter cannot tell one machine's decisions from
// another's, so irtui removes its decisions one by one, by ID.
package crowdsec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/irtui/irtui/internal/sanitize"
)

// Credentials are a machine's login on the LAPI, as cscli keeps them in
// local_api_credentials.yaml.
type Credentials struct {
	URL      string `yaml:"url"`
	Login    string `yaml:"login"`
	Password string `yaml:"password"`
}

// maxCredentials bounds the credentials file: it holds three short keys.
const maxCredentials = 64 << 10

// ReadCredentials reads a local_api_credentials.yaml file.
func ReadCredentials(path string) (Credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("cannot read the CrowdSec credentials: %w (give the machine's local_api_credentials.yaml with --crowdsec-credentials; cscli machines add NAME --auto -f FILE makes one)", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCredentials+1))
	if err != nil {
		return Credentials{}, fmt.Errorf("cannot read the CrowdSec credentials %s: %w", path, err)
	}
	if len(b) > maxCredentials {
		return Credentials{}, fmt.Errorf("%s is larger than %d bytes: not a local_api_credentials.yaml", path, maxCredentials)
	}
	c, err := ParseCredentials(b)
	if err != nil {
		return Credentials{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseCredentials parses the YAML of a local_api_credentials.yaml file.
func ParseCredentials(b []byte) (Credentials, error) {
	var c Credentials
	if err := yaml.Unmarshal(b, &c); err != nil {
		return Credentials{}, fmt.Errorf("%v (expected keys url, login and password)", err)
	}
	if err := c.check(); err != nil {
		return Credentials{}, err
	}
	return c, nil
}

func (c Credentials) check() error {
	if c.URL == "" || c.Login == "" || c.Password == "" {
		return errors.New("url, login and password are all needed (cscli machines add NAME --auto -f FILE writes them)")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q is not an http:// or https:// address of a Local API", clip(c.URL))
	}
	return nil
}

// Client talks to one LAPI as one machine. It logs in on first use and
// again when its token is refused (tokens last an hour by default).
type Client struct {
	creds Credentials
	base  *url.URL
	http  *http.Client

	mu    sync.Mutex
	token string
}

// maxResponse bounds what is read from the LAPI: a listing of 100 k
// decisions is about 30 MB.
const maxResponse = 256 << 20

// NewClient returns a client for the LAPI named in creds. hc may be nil
// (a client with a 30 s timeout is used).
func NewClient(creds Credentials, hc *http.Client) (*Client, error) {
	if err := creds.check(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(strings.TrimRight(creds.URL, "/"))
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{creds: creds, base: u, http: hc}, nil
}

// Login is the machine's name on the LAPI.
func (c *Client) Login() string { return c.creds.Login }

// URL returns the full address of a LAPI path, as the operator is shown it.
func (c *Client) URL(path string) string { return c.base.String() + path }

// APIError is a refusal from the LAPI, with its status and message.
type APIError struct {
	Method, Path string
	Status       int
	Message      string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("CrowdSec LAPI %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	switch e.Status {
	case http.StatusUnauthorized:
		s += " (check login and password in the credentials file; cscli machines list shows the machine)"
	case http.StatusForbidden:
		s += " (the LAPI refuses this from the address irtui connects from)"
	}
	return s
}

func (c *Client) login(ctx context.Context) (string, error) {
	body, _ := json.Marshal(map[string]any{"machine_id": c.creds.Login, "password": c.creds.Password, "scenarios": []string{}})
	var resp struct {
		Code   int    `json:"code"`
		Expire string `json:"expire"`
		Token  string `json:"token"`
	}
	if err := c.send(ctx, http.MethodPost, "/v1/watchers/login", nil, body, "", &resp); err != nil {
		return "", err
	}
	if resp.Token == "" {
		return "", errors.New("CrowdSec LAPI login returned no token")
	}
	c.mu.Lock()
	c.token = resp.Token
	c.mu.Unlock()
	return resp.Token, nil
}

// Do sends one authenticated request; out, when not nil, receives the JSON
// answer. A refused token leads to one fresh login and one retry.
func (c *Client) Do(ctx context.Context, method, path string, q url.Values, body []byte, out any) error {
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	var err error
	if tok == "" {
		if tok, err = c.login(ctx); err != nil {
			return err
		}
	}
	err = c.send(ctx, method, path, q, body, tok, out)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		if tok, err = c.login(ctx); err != nil {
			return err
		}
		err = c.send(ctx, method, path, q, body, tok, out)
	}
	return err
}

func (c *Client) send(ctx context.Context, method, path string, q url.Values, body []byte, tok string, out any) error {
	u := c.base.String() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	// The LAPI refuses a login whose User-Agent is not "name/version".
	req.Header.Set("User-Agent", "irtui/1")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the CrowdSec LAPI at %s: %w (is crowdsec running, and api.server.listen_uri reachable from here?)", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return fmt.Errorf("CrowdSec LAPI %s %s: reading the answer: %w", method, path, err)
	}
	if len(data) > maxResponse {
		return fmt.Errorf("CrowdSec LAPI %s %s: answer larger than %d bytes", method, path, maxResponse)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var m struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &m)
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Message: sanitize.Truncate(m.Message, 300)}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("CrowdSec LAPI %s %s: cannot understand the answer: %w", method, path, err)
		}
	}
	return nil
}

// Alert is an alert as GET /v1/alerts returns it. Every string in it may
// come from an attacker (scenario messages, event metadata): sanitize
// before showing.
type Alert struct {
	ID          int64       `json:"id"`
	MachineID   string      `json:"machine_id"`
	CreatedAt   string      `json:"created_at"`
	Scenario    string      `json:"scenario"`
	Message     string      `json:"message"`
	EventsCount int32       `json:"events_count"`
	StartAt     string      `json:"start_at"`
	StopAt      string      `json:"stop_at"`
	Simulated   bool        `json:"simulated"`
	Source      AlertSource `json:"source"`
	Decisions   []Decision  `json:"decisions"`
}

// AlertSource is what an alert is about.
type AlertSource struct {
	Scope    string `json:"scope"`
	Value    string `json:"value"`
	IP       string `json:"ip"`
	Range    string `json:"range"`
	AsNumber string `json:"as_number"`
	AsName   string `json:"as_name"`
	Cn       string `json:"cn"`
}

// Decision is one decision as the LAPI lists it. Duration is the time left
// ("3h59m58.1s"), negative once expired or deleted.
type Decision struct {
	ID        int64  `json:"id"`
	Origin    string `json:"origin"`
	Type      string `json:"type"`
	Scope     string `json:"scope"`
	Value     string `json:"value"`
	Duration  string `json:"duration"`
	Scenario  string `json:"scenario"`
	Simulated bool   `json:"simulated"`
}

// Left parses Duration; ok is false when it cannot be read.
func (d Decision) Left() (time.Duration, bool) {
	v, err := time.ParseDuration(d.Duration)
	return v, err == nil
}

// Alerts lists alerts matching q (the LAPI's filters: origin, since,
// has_active_decision, scope, value, limit, …).
func (c *Client) Alerts(ctx context.Context, q url.Values) ([]Alert, error) {
	var out []Alert
	if err := c.Do(ctx, http.MethodGet, "/v1/alerts", q, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// AddAlerts posts a prepared body (a JSON array of alerts) in one request
// and returns the IDs of the alerts created.
func (c *Client) AddAlerts(ctx context.Context, body []byte) ([]string, error) {
	var ids []string
	if err := c.Do(ctx, http.MethodPost, "/v1/alerts", nil, body, &ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// DeleteDecision removes one decision by its ID (the LAPI ends it now;
// bouncers see it go at their next pull).
func (c *Client) DeleteDecision(ctx context.Context, id int64) error {
	var resp struct {
		NbDeleted string `json:"nbDeleted"`
	}
	return c.Do(ctx, http.MethodDelete, fmt.Sprintf("/v1/decisions/%d", id), nil, nil, &resp)
}

// clip keeps error messages short and printable.
func clip(s string) string { return sanitize.Truncate(s, 80) }

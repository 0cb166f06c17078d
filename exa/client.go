// Package exa is a client for Exa's Agent API: it creates research runs,
// follows them to the end and turns every failure into a typed error.
//
// The shape follows google/go-github: NewClient wraps an *http.Client,
// NewRequest builds a request and Do sends it, decodes the answer and maps
// error statuses through CheckResponse. Retries live in one decorator,
// Retrying, that NewClient puts around the transport: it retries what is
// safe to resend and never a create, whose failures are classified instead
// (ErrCreateUncertain).
package exa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// DefaultBaseURL is the production API.
const DefaultBaseURL = "https://api.exa.ai/"

// BetaHeader is the value of the Exa-Beta header sent on every request.
const BetaHeader = "agent-2026-05-07"

// Client talks to the Agent API. It is safe for concurrent use.
type Client struct {
	http      *http.Client
	baseURL   *url.URL
	apiKey    string
	userAgent string
	retry     RetryPolicy
}

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL points the client at another server, such as the simulator.
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("exa: base URL %q: %w", raw, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Errorf("exa: base URL %q: scheme must be http or https", raw)
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		c.baseURL = u
		return nil
	}
}

// WithAPIKey sets the key sent as x-api-key.
func WithAPIKey(key string) Option {
	return func(c *Client) error {
		c.apiKey = key
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// WithRetryPolicy sets how GETs, cancels and deletes are retried; a policy
// with MaxAttempts 1 turns retries off. Creates are never retried.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) error {
		c.retry = p
		return nil
	}
}

// NewClient returns a client that sends its requests through a copy of hc
// (http.DefaultClient when nil) whose transport is wrapped in Retrying.
func NewClient(hc *http.Client, opts ...Option) (*Client, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := &Client{userAgent: "exa-enrich", retry: DefaultRetryPolicy}
	if err := WithBaseURL(DefaultBaseURL)(c); err != nil {
		return nil, err
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	wrapped := *hc
	wrapped.Transport = &Retrying{Base: hc.Transport, Policy: c.retry}
	c.http = &wrapped
	return c, nil
}

// NewRequest builds a request for path, relative to the base URL, with body
// encoded as JSON when it is not nil.
func (c *Client) NewRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	u, err := c.baseURL.Parse(path)
	if err != nil {
		return nil, err
	}
	var r io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("exa: encoding %s %s: %w", method, path, err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Exa-Beta", BetaHeader)
	req.Header.Set("User-Agent", c.userAgent)
	if c.apiKey != "" {
		req.Header.Set("x-api-key", c.apiKey)
	}
	return req, nil
}

// Do sends req and decodes a successful JSON answer into v (when not nil).
// Error statuses come back as *APIError or *RateLimitError.
func (c *Client) Do(req *http.Request, v any) (*http.Response, error) {
	resp, err := c.send(req)
	if err != nil {
		return resp, err
	}
	defer resp.Body.Close()
	if v == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return resp, c.redact(fmt.Errorf("exa: %s %s: decoding response: %w", req.Method, req.URL.Path, err))
	}
	return resp, nil
}

// send sends req and returns the response with its body open, or the
// error CheckResponse makes of it (body closed).
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%w)", ctxErr, err)
		}
		return nil, c.redact(fmt.Errorf("exa: %s %s: %w", req.Method, req.URL.Path, err))
	}
	if err := CheckResponse(resp); err != nil {
		resp.Body.Close()
		return resp, c.redact(err)
	}
	return resp, nil
}

// redact removes the API key from an error's text, should a server or a
// transport have echoed it.
func (c *Client) redact(err error) error {
	if c.apiKey == "" || !strings.Contains(err.Error(), c.apiKey) {
		return err
	}
	// The typed error's fields are read on their own, so scrub them too.
	var ae *APIError
	if errors.As(err, &ae) {
		ae.Message = strings.ReplaceAll(ae.Message, c.apiKey, "[REDACTED]")
	}
	return &redactedError{err: err, key: c.apiKey}
}

type redactedError struct {
	err error
	key string
}

func (e *redactedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.key, "[REDACTED]")
}

func (e *redactedError) Unwrap() error { return e.err }

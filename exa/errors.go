package exa

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrCreateUncertain marks a create whose outcome is unknown: a timeout,
// a connection lost after the body went out, a 5xx, an unreadable answer.
// The run may exist and be billed. Look for it (by its metadata, see
// FindRunByMetadata) before creating it again.
var ErrCreateUncertain = errors.New("exa: create outcome unknown, the run may exist")

// APIError is an error answer from the API, from either of its envelopes:
// the agent envelope {"error":{type,code,message}} or the flat one used for
// 402 {"requestId","error","tag"}.
type APIError struct {
	Status    int    // HTTP status
	Type      string // e.g. INVALID_REQUEST
	Code      string // e.g. INVALID_OUTPUT_SCHEMA, NO_MORE_CREDITS
	Message   string
	RequestID string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("exa: %d %s", e.Status, e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// RateLimitError is a 429. RetryAfter is zero when the server gave no hint.
type RateLimitError struct {
	APIError
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	s := e.APIError.Error()
	if e.RetryAfter > 0 {
		s += fmt.Sprintf("; retry after %s", e.RetryAfter)
	}
	return s
}

// Unwrap lets errors.As find the embedded *APIError.
func (e *RateLimitError) Unwrap() error { return &e.APIError }

// CheckResponse returns nil for a 2xx response and a typed error otherwise.
// It is the one place where statuses become errors.
func CheckResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := APIError{Status: resp.StatusCode, RequestID: resp.Header.Get("x-request-id")}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var agent struct {
		Error struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	var flat struct {
		RequestID string `json:"requestId"`
		Error     string `json:"error"`
		Tag       string `json:"tag"`
	}
	switch {
	case json.Unmarshal(body, &agent) == nil && agent.Error.Code != "":
		e.Type, e.Code, e.Message = agent.Error.Type, agent.Error.Code, agent.Error.Message
	case json.Unmarshal(body, &flat) == nil && (flat.Tag != "" || flat.Error != ""):
		e.Code, e.Message = flat.Tag, flat.Error
		if e.RequestID == "" {
			e.RequestID = flat.RequestID
		}
	default:
		// An edge's bare error page: keep a short plain-text body, which
		// often says which hop failed.
		if mt := resp.Header.Get("Content-Type"); strings.HasPrefix(mt, "text/plain") {
			e.Message = strings.TrimSpace(string(body[:min(len(body), 200)]))
		}
	}
	if e.Code == "" {
		e.Code = http.StatusText(resp.StatusCode)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return &RateLimitError{APIError: e, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	}
	return &e
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs > 0 {
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

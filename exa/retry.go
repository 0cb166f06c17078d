package exa

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// RetryPolicy says how Retrying retries a request that is safe to resend.
type RetryPolicy struct {
	// MaxAttempts counts the first try; 1 or less means no retries.
	MaxAttempts int
	// InitialInterval and MaxInterval bound the exponential backoff, which
	// is randomised by half either way so that clients do not retry in step.
	InitialInterval, MaxInterval time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a longer one ends
	// the retries and returns the 429 to the caller.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy is what NewClient uses.
var DefaultRetryPolicy = RetryPolicy{
	MaxAttempts:     6,
	InitialInterval: 200 * time.Millisecond,
	MaxInterval:     10 * time.Second,
	MaxRetryAfter:   2 * time.Minute,
}

// Retrying is an http.RoundTripper that retries transient failures (429,
// 5xx, connection errors) of the requests that are safe to resend: GETs,
// deletes and cancels. It honours Retry-After and otherwise backs off
// exponentially with jitter.
//
// It never retries a create (POST /agent/runs): a create has no idempotency
// key, so resending one whose outcome is unknown may start a second paid
// run. CreateRun classifies such failures as ErrCreateUncertain instead.
type Retrying struct {
	Base   http.RoundTripper // http.DefaultTransport when nil
	Policy RetryPolicy
}

func (t *Retrying) base() http.RoundTripper {
	if t.Base == nil {
		return http.DefaultTransport
	}
	return t.Base
}

// RoundTrip sends req, retrying it when it is safe and worthwhile.
func (t *Retrying) RoundTrip(req *http.Request) (*http.Response, error) {
	if !resendable(req) || t.Policy.MaxAttempts <= 1 {
		return t.base().RoundTrip(req)
	}
	ctx := req.Context()
	b := &backoff.ExponentialBackOff{
		InitialInterval:     t.Policy.InitialInterval,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         t.Policy.MaxInterval,
	}
	b.Reset()
	for attempt := 1; ; attempt++ {
		try := req
		if attempt > 1 {
			try = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				try.Body = body
			}
		}
		resp, err := t.base().RoundTrip(try)
		if attempt >= t.Policy.MaxAttempts || ctx.Err() != nil || !transient(resp, err) {
			return resp, err
		}
		wait := b.NextBackOff()
		if resp != nil {
			if ra := parseRetryAfter(resp.Header.Get("Retry-After")); ra > 0 {
				if ra > t.Policy.MaxRetryAfter {
					return resp, nil
				}
				wait = ra
			}
			// Drain a little so the connection can be reused.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// resendable reports whether sending req twice does no harm.
func resendable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodOptions:
		return true
	case http.MethodPost:
		return strings.HasSuffix(req.URL.Path, "/cancel")
	}
	return false
}

// transient reports whether a failure may pass if tried again.
func transient(resp *http.Response, err error) bool {
	if err != nil {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

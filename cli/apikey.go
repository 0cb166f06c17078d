package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/exa-enrich/exa-enrich/exa"
)

// apiKey returns the Exa API key: from --api-key-file when given, else from
// EXA_API_KEY. Never from a flag's value, which any user could read in ps.
// Errors name the file and never quote what it holds.
func (f jobFlags) apiKey(env *Env) (string, error) {
	if f.APIKeyFile == "" {
		key := env.Getenv("EXA_API_KEY")
		if key == "" {
			return "", usagef("EXA_API_KEY is not set: export your Exa API key, give --api-key-file FILE, or add --sim to try the embedded simulator")
		}
		return key, nil
	}
	info, err := os.Stat(f.APIKeyFile)
	if err != nil {
		return "", usageError{fmt.Errorf("--api-key-file: %w", err)}
	}
	if info.IsDir() {
		return "", usagef("--api-key-file %s is a folder, not a file", f.APIKeyFile)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		fmt.Fprintf(env.Stderr, "exa-enrich: warning: %s is readable by others (mode %04o); chmod 600 it\n", f.APIKeyFile, perm)
	}
	b, err := os.ReadFile(f.APIKeyFile)
	if err != nil {
		return "", usageError{fmt.Errorf("--api-key-file: %w", err)}
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", usagef("--api-key-file %s is empty", f.APIKeyFile)
	}
	if strings.ContainsAny(key, "\r\n") {
		return "", usagef("--api-key-file %s holds more than one line; it should hold the key alone", f.APIKeyFile)
	}
	return key, nil
}

// apiClient returns a client of the real API (or the server EXA_BASE_URL
// names) that sends key.
func apiClient(env *Env, key string) (*exa.Client, error) {
	opts := []exa.Option{exa.WithAPIKey(key)}
	if base := env.Getenv("EXA_BASE_URL"); base != "" {
		opts = append(opts, exa.WithBaseURL(base))
	}
	api, err := exa.NewClient(nil, opts...)
	if err != nil {
		return nil, usageError{err}
	}
	return api, nil
}

package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Spec is everything that shapes a row's answer besides the row itself.
// Two runs with equal specs over equal rows ask the same question, so a
// stored answer serves both.
type Spec struct {
	Query        string   `json:"query"`
	SystemPrompt string   `json:"systemPrompt,omitempty"`
	Effort       string   `json:"effort"`
	Schema       any      `json:"schema"`  // the per-row JSON Schema
	Columns      []string `json:"columns"` // the columns sent, in order
	Key          []string `json:"key"`
	// Exclusion is the rows the agent is asked to avoid: excluding other
	// rows asks another question.
	Exclusion []map[string]any `json:"exclusion,omitempty"`
}

// Hash identifies the spec. encoding/json writes map keys sorted, so equal
// specs hash equal.
func (s Spec) Hash() string {
	b, err := json.Marshal(s)
	if err != nil {
		// A spec is built from strings and a decoded JSON schema; it always
		// encodes. A failure here is a programming error.
		panic(fmt.Sprintf("pipeline: encoding spec: %v", err))
	}
	return hashOf(b)
}

// JobID names the job a spec defines.
func (s Spec) JobID() string { return "job_" + s.Hash()[:16] }

// rowHash identifies the cells a row sends, whatever is asked about them.
func rowHash(columns, values []string) string {
	pairs := make([][2]string, len(columns))
	for i, c := range columns {
		pairs[i] = [2]string{c, values[i]}
	}
	b, _ := json.Marshal(pairs)
	return hashOf(b)
}

// resultHash identifies a question: these cells under this spec.
func resultHash(specHash, rowHash string) string {
	return hashOf([]byte(specHash + "/" + rowHash))
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// FileHash returns the SHA-256 of a file's content, for the job's record of
// which input it read.
func FileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashKey is the first 128 bits of a hash: enough to tell a million rows
// apart, in a quarter of the memory of the hex string.
type hashKey [16]byte

func keyOf(hash string) hashKey {
	var k hashKey
	if len(hash) < 32 {
		copy(k[:], hash) // not one of ours; keep it distinct all the same
		return k
	}
	_, _ = hex.Decode(k[:], []byte(hash[:32]))
	return k
}

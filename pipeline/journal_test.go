package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/exa-enrich/exa-enrich/exa"
	"github.com/exa-enrich/exa-enrich/readers"
)

// testRows makes pending rows whose cells name their hash.
func testRows(hashes ...string) []*pending {
	var out []*pending
	for i, h := range hashes {
		out = append(out, &pending{Hash: h, RowHash: "r" + h, Source: readers.Source{File: "in.csv", Row: i + 2},
			Data: map[string]any{"rowId": fmt.Sprint(i + 2), "name": "company " + h}})
	}
	return out
}

func openTestJournal(t *testing.T) (*Journal, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "job.db")
	j, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j, path
}

func TestJournalChunkLifecycleSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	j, path := openTestJournal(t)
	if err := j.BeginJob(ctx, "job1", `{"query":"q"}`); err != nil {
		t.Fatal(err)
	}
	a, err := j.NewChunk(ctx, "job1", testRows("h1", "h2"), 0.025)
	if err != nil {
		t.Fatal(err)
	}
	b, err := j.NewChunk(ctx, "job1", testRows("h3"), 0.025)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.SetRunID(ctx, &a, "agent_run_1"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	answer := map[string]any{"rowId": "2", "ceo": "Ada", "employees": json.Number("120")}
	if err := j.FinishChunk(ctx, &a, 0.025, []Entry{
		{Hash: "h1", RowHash: "r1", Result: Result{Status: StatusOK, Answer: answer, RunID: "agent_run_1", CostUSD: 0.0125,
			Sources: []string{"https://a.example/x"}, Citations: map[string][]exa.Citation{"ceo": {{URL: "https://a.example/x", Title: "X"}}},
			Confidence: "medium", EnrichedAt: at}},
		{Hash: "h2", RowHash: "r2", Result: Result{Status: StatusMissing, Error: "no answer", RunID: "agent_run_1", CostUSD: 0.0125, EnrichedAt: at}},
	}); err != nil {
		t.Fatal(err)
	}
	j.Close()

	// A new process opens the same file.
	j2, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	open, err := j2.OpenChunks(ctx, "job1")
	if err != nil {
		t.Fatal(err)
	}
	wantOpen := []ChunkRecord{{ID: b.ID, JobID: "job1", Attempt: 1, State: ChunkSubmitting, Rows: testRows("h3"), Reserved: 0.025}}
	if !reflect.DeepEqual(open, wantOpen) {
		t.Errorf("open chunks = %+v\nwant %+v", open, wantOpen)
	}
	got, err := j2.Lookup(ctx, []string{"h1", "h2", "h3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d results, want 2 (h3 was never answered): %+v", len(got), got)
	}
	want := Result{Status: StatusOK, Answer: answer, RunID: "agent_run_1", CostUSD: 0.0125,
		Sources: []string{"https://a.example/x"}, Citations: map[string][]exa.Citation{"ceo": {{URL: "https://a.example/x", Title: "X"}}},
		Confidence: "medium", Attempts: 1, EnrichedAt: at}
	if !reflect.DeepEqual(got["h1"], want) {
		t.Errorf("h1 = %+v\nwant %+v", got["h1"], want)
	}
	if got["h2"].Status != StatusMissing || got["h2"].Error != "no answer" {
		t.Errorf("h2 = %+v", got["h2"])
	}
}

func TestJournalRetryKeepsOKAndAddsCost(t *testing.T) {
	ctx := context.Background()
	j, _ := openTestJournal(t)
	_ = j.BeginJob(ctx, "job1", "{}")
	first, _ := j.NewChunk(ctx, "job1", testRows("h1", "h2"), 0.1)
	if err := j.FinishChunk(ctx, &first, 0.1, []Entry{
		{Hash: "h1", RowHash: "r1", Result: Result{Status: StatusOK, Answer: map[string]any{"ceo": "Ada"}, CostUSD: 0.05}},
		{Hash: "h2", RowHash: "r2", Result: Result{Status: StatusFailed, Error: "run failed", CostUSD: 0.05}},
	}); err != nil {
		t.Fatal(err)
	}
	retry, _ := j.NewChunk(ctx, "job1", testRows("h2", "h1"), 0.1)
	if err := j.FinishChunk(ctx, &retry, 0.1, []Entry{
		{Hash: "h2", RowHash: "r2", Result: Result{Status: StatusOK, Answer: map[string]any{"ceo": "Grace"}, CostUSD: 0.05}},
		{Hash: "h1", RowHash: "r1", Result: Result{Status: StatusMissing, Error: "dropped", CostUSD: 0.05}},
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := j.Lookup(ctx, []string{"h1", "h2"})
	if got["h1"].Status != StatusOK || got["h1"].Answer["ceo"] != "Ada" {
		t.Errorf("h1 = %+v: a later miss must not replace an answer", got["h1"])
	}
	if got["h2"].Status != StatusOK || got["h2"].Answer["ceo"] != "Grace" || got["h2"].Attempts != 2 {
		t.Errorf("h2 = %+v, want the retry's answer after 2 attempts", got["h2"])
	}
	if c := got["h2"].CostUSD; c < 0.0999 || c > 0.1001 {
		t.Errorf("h2 cost %.4f, want both attempts' 0.10", c)
	}
	byRow, _ := j.LookupRows(ctx, []string{"r2"})
	if byRow["r2"].Answer["ceo"] != "Grace" {
		t.Errorf("LookupRows(r2) = %+v", byRow["r2"])
	}
}

func TestJournalRefusesANewerLayout(t *testing.T) {
	j, path := openTestJournal(t)
	if _, err := j.db.Exec(`UPDATE meta SET value = '99' WHERE key = 'version'`); err != nil {
		t.Fatal(err)
	}
	j.Close()
	_, err := OpenJournal(path)
	if err == nil || !strings.Contains(err.Error(), "written by a newer exa-enrich (journal version 99") {
		t.Errorf("err = %v", err)
	}
}

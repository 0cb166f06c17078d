package pipeline

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the pure-Go driver registers "sqlite"
)

// Chunk states in the journal. A chunk is written as submitting before its
// create is sent, becomes running the moment its run id is known, and done
// only once its rows' results are stored in the same transaction.
const (
	ChunkSubmitting = "submitting"
	ChunkRunning    = "running"
	ChunkDone       = "done"
)

// Journal is a job's durable memory: one SQLite file holding the job's
// fingerprint, each chunk with its run id, and each row's result under the
// hash of what was sent for it. It is what makes a rerun cheap and a crash
// harmless: nothing is acknowledged until it is committed here.
type Journal struct {
	db   *sql.DB
	path string

	rowIndex    sync.Once
	rowIndexErr error
}

// ChunkRecord is one chunk as the journal knows it.
type ChunkRecord struct {
	ID       int64
	JobID    string
	Attempt  int
	State    string
	RunID    string
	Rows     []*pending // what the chunk sends, as it was first sent
	Reserved float64    // dollars set aside for the run's worst case
}

const journalSchema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
	id          TEXT PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	created_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	job_id     TEXT NOT NULL REFERENCES jobs(id),
	attempt    INTEGER NOT NULL DEFAULT 1,
	state      TEXT NOT NULL,
	run_id     TEXT,
	rows       TEXT NOT NULL,
	reserved   REAL NOT NULL DEFAULT 0,
	cost       REAL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_open ON chunks(job_id, state);
CREATE TABLE IF NOT EXISTS results (
	hash        TEXT PRIMARY KEY,
	row_hash    TEXT NOT NULL,
	job_id      TEXT NOT NULL,
	status      TEXT NOT NULL,
	error       TEXT NOT NULL DEFAULT '',
	answer      TEXT,
	run_id      TEXT NOT NULL DEFAULT '',
	cost        REAL NOT NULL DEFAULT 0,
	sources     TEXT,
	citations   TEXT,
	confidence  TEXT NOT NULL DEFAULT '',
	attempts    INTEGER NOT NULL DEFAULT 1,
	enriched_at TEXT NOT NULL
);
`

// OpenJournal opens (or creates) the journal at path, creating its folder.
func OpenJournal(path string) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	// WAL lets the writer and readers work at once; synchronous=FULL makes
	// every commit durable before it counts as an acknowledgement.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)&_pragma=cache_size(-65536)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	// One connection serialises writers, which SQLite would do anyway, and
	// avoids SQLITE_BUSY between our own goroutines.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(journalSchema + executionsSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if err := checkVersion(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return &Journal{db: db, path: path}, nil
}

// journalVersion is the layout of the journal's tables. A journal records
// its version when it is made; a later layout migrates older journals, and
// this one refuses newer ones rather than misread them.
const journalVersion = 1

func checkVersion(db *sql.DB) error {
	if _, err := db.Exec(`INSERT INTO meta(key, value) VALUES('version', ?) ON CONFLICT(key) DO NOTHING`,
		journalVersion); err != nil {
		return err
	}
	var v int
	if err := db.QueryRow(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'version'`).Scan(&v); err != nil {
		return err
	}
	if v > journalVersion {
		return fmt.Errorf("written by a newer exa-enrich (journal version %d, this one reads up to %d): upgrade, or use another --state", v, journalVersion)
	}
	return nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Close closes the journal.
func (j *Journal) Close() error { return j.db.Close() }

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// Instance returns the journal's random id, made when the file was created.
// It goes into every run's metadata, so that two journals asking the same
// question never take each other's runs for their own.
func (j *Journal) Instance(ctx context.Context) (string, error) {
	var id string
	err := j.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'instance'`).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("journal: %w", err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	if _, err := j.db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES('instance', ?) ON CONFLICT(key) DO NOTHING`,
		hex.EncodeToString(b[:])); err != nil {
		return "", fmt.Errorf("journal: %w", err)
	}
	return j.Instance(ctx)
}

// BeginJob records a job under its id; a job already known is left as is.
func (j *Journal) BeginJob(ctx context.Context, id, fingerprint string) error {
	_, err := j.db.ExecContext(ctx,
		`INSERT INTO jobs(id, fingerprint, created_at) VALUES(?, ?, ?) ON CONFLICT(id) DO NOTHING`,
		id, fingerprint, now())
	if err != nil {
		return fmt.Errorf("journal: recording job %s: %w", id, err)
	}
	return nil
}

// NewChunk records a chunk as submitting, before its create is sent.
func (j *Journal) NewChunk(ctx context.Context, jobID string, rows []*pending, reserved float64) (ChunkRecord, error) {
	text, err := json.Marshal(rows)
	if err != nil {
		return ChunkRecord{}, fmt.Errorf("journal: recording chunk: %w", err)
	}
	t := now()
	res, err := j.db.ExecContext(ctx,
		`INSERT INTO chunks(job_id, state, rows, reserved, created_at, updated_at) VALUES(?, ?, ?, ?, ?, ?)`,
		jobID, ChunkSubmitting, string(text), reserved, t, t)
	if err != nil {
		return ChunkRecord{}, fmt.Errorf("journal: recording chunk: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return ChunkRecord{}, fmt.Errorf("journal: recording chunk: %w", err)
	}
	return ChunkRecord{ID: id, JobID: jobID, Attempt: 1, State: ChunkSubmitting, Rows: rows, Reserved: reserved}, nil
}

// Resubmit records a new attempt of a chunk, before its create is sent.
func (j *Journal) Resubmit(ctx context.Context, c *ChunkRecord) error {
	c.Attempt++
	c.State, c.RunID = ChunkSubmitting, ""
	_, err := j.db.ExecContext(ctx,
		`UPDATE chunks SET attempt = ?, state = ?, run_id = NULL, updated_at = ? WHERE id = ?`,
		c.Attempt, c.State, now(), c.ID)
	if err != nil {
		return fmt.Errorf("journal: chunk %d: recording attempt %d: %w", c.ID, c.Attempt, err)
	}
	return nil
}

// SetRunID records the run a chunk's create started.
func (j *Journal) SetRunID(ctx context.Context, c *ChunkRecord, runID string) error {
	c.State, c.RunID = ChunkRunning, runID
	_, err := j.db.ExecContext(ctx,
		`UPDATE chunks SET state = ?, run_id = ?, updated_at = ? WHERE id = ?`,
		c.State, runID, now(), c.ID)
	if err != nil {
		return fmt.Errorf("journal: chunk %d: recording run %s: %w", c.ID, runID, err)
	}
	return nil
}

// Entry is a row result as the journal stores it.
type Entry struct {
	Hash    string // what was sent: the row's cells and the job's spec
	RowHash string // the row's cells alone, for --reuse
	Result
}

// FinishChunk stores the results of a chunk's rows and marks it done, in one
// transaction: the chunk is acknowledged exactly when its answers are safe.
// A result never replaces an ok answer stored earlier under the same hash.
func (j *Journal) FinishChunk(ctx context.Context, c *ChunkRecord, cost float64, entries []Entry) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal: chunk %d: %w", c.ID, err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `
		INSERT INTO results(hash, row_hash, job_id, status, error, answer, run_id, cost, sources, citations, confidence, attempts, enriched_at)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(hash) DO UPDATE SET
			status = excluded.status, error = excluded.error, answer = excluded.answer,
			run_id = excluded.run_id, cost = results.cost + excluded.cost, sources = excluded.sources,
			citations = excluded.citations, confidence = excluded.confidence,
			attempts = results.attempts + 1, enriched_at = excluded.enriched_at
		WHERE results.status <> 'ok' OR excluded.status = 'ok'`)
	if err != nil {
		return fmt.Errorf("journal: chunk %d: %w", c.ID, err)
	}
	defer stmt.Close()
	for _, e := range entries {
		answer, sources, citations := jsonText(e.Answer), jsonText(e.Sources), jsonText(e.Citations)
		at := e.EnrichedAt
		if at.IsZero() {
			at = time.Now()
		}
		if _, err := stmt.ExecContext(ctx, e.Hash, e.RowHash, c.JobID, string(e.Status), e.Error, answer,
			e.RunID, e.CostUSD, sources, citations, e.Confidence, 1, at.UTC().Format(time.RFC3339Nano)); err != nil {
			return fmt.Errorf("journal: chunk %d: storing result: %w", c.ID, err)
		}
	}
	c.State = ChunkDone
	if _, err := tx.ExecContext(ctx, `UPDATE chunks SET state = ?, cost = ?, updated_at = ? WHERE id = ?`,
		ChunkDone, cost, now(), c.ID); err != nil {
		return fmt.Errorf("journal: chunk %d: %w", c.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("journal: chunk %d: %w", c.ID, err)
	}
	return nil
}

func jsonText(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case map[string]any:
		if x == nil {
			return nil
		}
	case []string:
		if x == nil {
			return nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return nil
	}
	return string(b)
}

// AverageRunCost is the mean cost of the job's finished runs; zero when it
// has none.
func (j *Journal) AverageRunCost(ctx context.Context, jobID string) (float64, error) {
	var avg sql.NullFloat64
	err := j.db.QueryRowContext(ctx,
		`SELECT AVG(cost) FROM chunks WHERE job_id = ? AND state = ? AND cost IS NOT NULL`, jobID, ChunkDone).Scan(&avg)
	if err != nil {
		return 0, fmt.Errorf("journal: %w", err)
	}
	return avg.Float64, nil
}

// OpenChunks returns the chunks of a job that are not done, oldest first.
func (j *Journal) OpenChunks(ctx context.Context, jobID string) ([]ChunkRecord, error) {
	rows, err := j.db.QueryContext(ctx,
		`SELECT id, attempt, state, COALESCE(run_id, ''), rows, reserved FROM chunks
		 WHERE job_id = ? AND state <> ? ORDER BY id`, jobID, ChunkDone)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer rows.Close()
	var out []ChunkRecord
	for rows.Next() {
		c := ChunkRecord{JobID: jobID}
		var text string
		if err := rows.Scan(&c.ID, &c.Attempt, &c.State, &c.RunID, &text, &c.Reserved); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		if err := decodeJSON(text, &c.Rows); err != nil {
			return nil, fmt.Errorf("journal: chunk %d: rows: %w", c.ID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Lookup returns the stored results for the given hashes; hashes with no
// result are absent from the map.
func (j *Journal) Lookup(ctx context.Context, hashes []string) (map[string]Result, error) {
	return j.lookup(ctx, "hash", hashes, true)
}

// LookupRows is Lookup by the row's cells alone, whatever the job's spec
// was: the newest result per row. It serves --reuse.
func (j *Journal) LookupRows(ctx context.Context, rowHashes []string) (map[string]Result, error) {
	if err := j.indexRows(ctx); err != nil {
		return nil, err
	}
	return j.lookup(ctx, "row_hash", rowHashes, true)
}

// Statuses is Lookup reduced to each result's status, attempts and time:
// what deciding whether to send a row needs, at a fraction of the cost.
// byRow looks the rows up by their cells alone, as LookupRows does.
func (j *Journal) Statuses(ctx context.Context, hashes []string, byRow bool) (map[string]Result, error) {
	if !byRow {
		return j.lookup(ctx, "hash", hashes, false)
	}
	if err := j.indexRows(ctx); err != nil {
		return nil, err
	}
	return j.lookup(ctx, "row_hash", hashes, false)
}

// indexRows makes the index that looking results up by row needs. It is
// made on first use, so that jobs that never --reuse do not maintain it
// on every insert.
func (j *Journal) indexRows(ctx context.Context) error {
	j.rowIndex.Do(func() {
		_, j.rowIndexErr = j.db.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS results_row ON results(row_hash, enriched_at)`)
	})
	if j.rowIndexErr != nil {
		return fmt.Errorf("journal: %w", j.rowIndexErr)
	}
	return nil
}

func (j *Journal) lookup(ctx context.Context, column string, keys []string, full bool) (map[string]Result, error) {
	out := make(map[string]Result, len(keys))
	fields := `status, attempts, enriched_at`
	if full {
		fields += `, error, COALESCE(answer, ''), run_id, cost, COALESCE(sources, ''), COALESCE(citations, ''), confidence`
	}
	const batch = 500 // under SQLite's bound-variable limit
	for start := 0; start < len(keys); start += batch {
		part := keys[start:min(start+batch, len(keys))]
		args := make([]any, len(part))
		for i, k := range part {
			args[i] = k
		}
		q := `SELECT ` + column + `, ` + fields + ` FROM results
			WHERE ` + column + ` IN (?` + strings.Repeat(", ?", len(part)-1) + `) ORDER BY enriched_at`
		rows, err := j.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		for rows.Next() {
			var key, status, at, answer, sources, citations string
			var r Result
			dest := []any{&key, &status, &r.Attempts, &at}
			if full {
				dest = append(dest, &r.Error, &answer, &r.RunID, &r.CostUSD, &sources, &citations, &r.Confidence)
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("journal: %w", err)
			}
			r.Status = Status(status)
			r.EnrichedAt, _ = time.Parse(time.RFC3339Nano, at)
			if err := errors.Join(decodeJSON(answer, &r.Answer), decodeJSON(sources, &r.Sources),
				decodeJSON(citations, &r.Citations)); err != nil {
				rows.Close()
				return nil, fmt.Errorf("journal: result %s: %w", key, err)
			}
			out[key] = r // newest last, so it wins
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
	}
	return out, nil
}

func decodeJSON(text string, v any) error {
	if text == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	return dec.Decode(v)
}

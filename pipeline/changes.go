package pipeline

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Executions and their answers by row key let a nightly job say what
// changed since the last night: each execution stores, for every row it
// writes out, the row's key and its answer; the next one compares.

const executionsSchema = `
CREATE TABLE IF NOT EXISTS executions (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	job_id      TEXT NOT NULL,
	started_at  TEXT NOT NULL,
	finished_at TEXT,
	complete    INTEGER NOT NULL DEFAULT 0,
	tracked     INTEGER NOT NULL DEFAULT 0 -- its answers are kept for the changes report
);
CREATE TABLE IF NOT EXISTS answers (
	execution_id INTEGER NOT NULL,
	key          TEXT NOT NULL,
	answer       TEXT NOT NULL,
	PRIMARY KEY (execution_id, key)
);
`

// BeginExecution records that an execution of a job started; tracked
// executions keep the answers they write out, for the changes report.
func (j *Journal) BeginExecution(ctx context.Context, jobID string, started time.Time, tracked bool) (int64, error) {
	res, err := j.db.ExecContext(ctx, `INSERT INTO executions(job_id, started_at, tracked) VALUES(?, ?, ?)`,
		jobID, started.UTC().Format(time.RFC3339Nano), tracked)
	if err != nil {
		return 0, fmt.Errorf("journal: %w", err)
	}
	return res.LastInsertId()
}

// FinishExecution records the end of an execution; complete means every
// row got its final answer, so that the next execution compares with it.
// Answers older than the complete execution before this one are dropped.
func (j *Journal) FinishExecution(ctx context.Context, id int64, complete bool) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE executions SET finished_at = ?, complete = ? WHERE id = ?`,
		now(), complete, id); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if complete {
		// Keep this execution's answers and those of the complete one
		// before it, which the changes report compares with.
		if _, err := tx.ExecContext(ctx, `DELETE FROM answers WHERE execution_id IN
			(SELECT id FROM executions WHERE job_id = (SELECT job_id FROM executions WHERE id = ?)
			 AND id < (SELECT COALESCE(MAX(id), 0) FROM executions WHERE complete = 1 AND tracked = 1 AND id < ?
			           AND job_id = (SELECT job_id FROM executions WHERE id = ?)))`, id, id, id); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// recordAnswers stores the answers an execution wrote out, by row key.
func (j *Journal) recordAnswers(ctx context.Context, execution int64, keys []string, answers []map[string]any) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO answers(execution_id, key, answer) VALUES(?, ?, ?)
		ON CONFLICT(execution_id, key) DO UPDATE SET answer = excluded.answer`)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer stmt.Close()
	for i, k := range keys {
		b, err := json.Marshal(answers[i])
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		if _, err := stmt.ExecContext(ctx, execution, k, string(b)); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// Change is one field of one row whose answer differs from the previous
// complete execution's.
type Change struct {
	Key      []string // the row's key column values
	Field    string   // the output column
	Old, New string   // cell text; Old is empty for a row that had no answer
}

// Changes compares an execution's answers with those of the job's previous
// complete tracked execution, field by field, and calls f for each difference, in
// key order. It reports false when there is no earlier complete execution
// to compare with. cell renders a column's value as the output shows it.
func (j *Journal) Changes(ctx context.Context, execution int64, columns []string, cell func(column string, answer map[string]any) string, f func(Change) error) (bool, error) {
	var prev sql.NullInt64
	err := j.db.QueryRowContext(ctx, `SELECT MAX(id) FROM executions WHERE complete = 1 AND tracked = 1 AND id < ?
		AND job_id = (SELECT job_id FROM executions WHERE id = ?)`, execution, execution).Scan(&prev)
	if err != nil {
		return false, fmt.Errorf("journal: %w", err)
	}
	if !prev.Valid {
		return false, nil
	}
	rows, err := j.db.QueryContext(ctx, `SELECT cur.key, COALESCE(old.answer, ''), cur.answer
		FROM answers cur LEFT JOIN answers old ON old.execution_id = ? AND old.key = cur.key
		WHERE cur.execution_id = ? AND (old.answer IS NULL OR old.answer <> cur.answer)
		ORDER BY cur.key`, prev.Int64, execution)
	if err != nil {
		return false, fmt.Errorf("journal: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, oldText, newText string
		if err := rows.Scan(&key, &oldText, &newText); err != nil {
			return false, fmt.Errorf("journal: %w", err)
		}
		var k []string
		var oldA, newA map[string]any
		if err := json.Unmarshal([]byte(key), &k); err != nil {
			return false, fmt.Errorf("journal: answer key %q: %w", key, err)
		}
		if err := decodeJSON(oldText, &oldA); err != nil {
			return false, fmt.Errorf("journal: %w", err)
		}
		if err := decodeJSON(newText, &newA); err != nil {
			return false, fmt.Errorf("journal: %w", err)
		}
		for _, c := range columns {
			o, n := cell(c, oldA), cell(c, newA)
			if o != n {
				if err := f(Change{Key: k, Field: c, Old: o, New: n}); err != nil {
					return false, err
				}
			}
		}
	}
	return true, rows.Err()
}

// answerKey renders a row's key column values as the answers table keys it.
func answerKey(values []string) string {
	b, _ := json.Marshal(values)
	return string(b)
}

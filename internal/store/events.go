package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Event is one entry of a case's timeline.
type Event struct {
	ID      string          `db:"id" json:"id"`
	Seq     int             `db:"seq" json:"seq"`
	CaseID  uuid.UUID       `db:"case_id" json:"-"`
	Type    string          `db:"type" json:"type"`
	At      time.Time       `db:"at" json:"at"`
	ActorID *uuid.UUID      `db:"actor_id" json:"actor_id"`
	Data    json.RawMessage `db:"data" json:"data"`
}

const (
	// Event IDs derive from workflow ID and sequence: a retried activity hits the conflict.
	qInsertEvent = `INSERT INTO case_events (id, seq, case_id, type, at, actor_id, data) VALUES (:id, :seq, :case_id, :type, :at, :actor_id, :data)
		ON CONFLICT (id) DO NOTHING`
	// A transition recorded is the case's workflow at work: it marks the
	// workflow started (the reconciler starts those that are not), so that
	// opening a case needs no write of its own for that.
	qSetStage = `UPDATE cases SET stage = $2, updated_at = GREATEST(updated_at, $3),
		closed_at = CASE WHEN $2 = 'closed' THEN COALESCE(closed_at, $3) ELSE closed_at END,
		workflow_started_at = COALESCE(workflow_started_at, $3) WHERE id = $1`
	// A timeline is in the order things happened; seq orders the events of
	// one step, which share their time (workflows.ReferralSeqBase).
	qTimeline = `SELECT * FROM case_events WHERE case_id = $1 ORDER BY at, seq, id`
)

// AppendEvent writes a timeline event once; repeating the same ID is a no-op.
func (s *Store) AppendEvent(ctx context.Context, e Event) error {
	e.Data = eventData(e.Data)
	if _, err := s.db.NamedExecContext(ctx, qInsertEvent, e); err != nil {
		return fmt.Errorf("append event %s: %w", e.ID, err)
	}
	return nil
}

// SetStage moves the case's read-model stage; idempotent.
func (s *Store) SetStage(ctx context.Context, caseID uuid.UUID, stage string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, qSetStage, caseID, stage, at); err != nil {
		return fmt.Errorf("set stage of case %s: %w", caseID, err)
	}
	return nil
}

// Timeline returns a case's events in order.
func (s *Store) Timeline(ctx context.Context, caseID uuid.UUID) ([]Event, error) {
	out := []Event{}
	if err := s.db.SelectContext(ctx, &out, qTimeline, caseID); err != nil {
		return nil, fmt.Errorf("timeline of case %s: %w", caseID, err)
	}
	// A transition's or referral step's event whose data map was nil is
	// stored as JSON null (the activities marshal the map): answer {}.
	for i := range out {
		out[i].Data = eventData(out[i].Data)
	}
	return out, nil
}

// eventData is an event's data as stored and answered: a JSON object, {}
// when there is none. A nil map marshals to JSON null, which the API
// documents no event to carry.
func eventData(d json.RawMessage) json.RawMessage {
	if t := bytes.TrimSpace(d); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return json.RawMessage(`{}`)
	}
	return d
}

package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one numbered schema change.
type Migration struct {
	Version   int
	Name      string
	SQL       string
	AppliedAt *time.Time
}

// migrationLock serialises concurrent `migrate up` runs (several replicas starting at once).
const migrationLock = 7_301_954_210

func loadMigrations() ([]Migration, error) {
	entries, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[int]string{}
	for _, path := range entries {
		base := strings.TrimPrefix(path, "migrations/")
		num, name, ok := strings.Cut(strings.TrimSuffix(base, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", base)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, base, v)
		}
		seen[v] = base
		body, err := migrationFiles.ReadFile(path)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

const (
	qCreateMigrationTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`
	qAppliedMigrations = `SELECT version, applied_at FROM schema_migrations`
	qRecordMigration   = `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`
)

// Migrate applies every pending migration, each in its own transaction, and
// returns the versions it applied.
func (s *Store) Migrate(ctx context.Context) ([]Migration, error) {
	all, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)
	if _, err := conn.ExecContext(ctx, qCreateMigrationTable); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}
	var done []Migration
	for _, m := range all {
		if _, ok := applied[m.Version]; ok {
			continue
		}
		tx, err := conn.BeginTxx(ctx, nil)
		if err != nil {
			return done, fmt.Errorf("migration %04d: %w", m.Version, err)
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return done, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, qRecordMigration, m.Version, m.Name); err != nil {
			tx.Rollback()
			return done, fmt.Errorf("migration %04d: %w", m.Version, err)
		}
		if err := tx.Commit(); err != nil {
			return done, fmt.Errorf("migration %04d: %w", m.Version, err)
		}
		done = append(done, m)
	}
	return done, nil
}

// MigrationStatus lists every known migration with the time it was applied, if it was.
func (s *Store) MigrationStatus(ctx context.Context) ([]Migration, error) {
	all, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, qCreateMigrationTable); err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if at, ok := applied[all[i].Version]; ok {
			all[i].AppliedAt = &at
		}
	}
	return all, nil
}

// Pending reports how many migrations are not applied; serve and worker refuse to run on an old schema.
func (s *Store) Pending(ctx context.Context) (int, error) {
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range st {
		if m.AppliedAt == nil {
			n++
		}
	}
	return n, nil
}

func appliedVersions(ctx context.Context, conn *sqlx.Conn) (map[int]time.Time, error) {
	rows, err := conn.QueryxContext(ctx, qAppliedMigrations)
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	defer rows.Close()
	out := map[int]time.Time{}
	for rows.Next() {
		var v int
		var at time.Time
		if err := rows.Scan(&v, &at); err != nil {
			return nil, err
		}
		out[v] = at
	}
	return out, rows.Err()
}

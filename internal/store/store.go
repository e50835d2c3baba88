// Package store holds NRM's PostgreSQL record: people and documents, and the
// read model that workflow activities write. All SQL lives here.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/jmoiron/sqlx"
)

// Sentinel errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrLastAdmin: the change would leave no active administrator.
	ErrLastAdmin = errors.New("last active administrator")
)

// Store is the PostgreSQL record.
type Store struct {
	db *sqlx.DB
	// audit gathers the audit entries appended at the same time (Audit).
	audit auditQueue
	// pinned holds the SOP versions (sopPin) this process has pinned and
	// found unchanged: their rows never change once written.
	pinned sync.Map
}

// Open connects to PostgreSQL and checks the connection.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	db, err := sqlx.Open("pgx", databaseURL)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// As many idle connections as open ones: under a burst, a connection
	// returned beyond the idle limit is closed and the next one opened
	// again, a new PostgreSQL backend each time.
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database %s: %w", redact(databaseURL), err)
	}
	return &Store{db: db}, nil
}

// Close releases the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that PostgreSQL answers; used by /readyz.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// DB exposes the pool to tests of this module that must inspect raw rows.
func (s *Store) DB() *sqlx.DB { return s.db }

// EnsureDatabase creates the database named in databaseURL when it does not
// exist, connecting to the server's maintenance database to do so.
func EnsureDatabase(ctx context.Context, databaseURL string) error {
	name, adminURL, err := splitDatabase(databaseURL)
	if err != nil {
		return err
	}
	// Most deployments create the database beforehand and give NRM's role no
	// access to the maintenance database: try the target first.
	direct, err := pgx.Connect(ctx, databaseURL)
	if err == nil {
		direct.Close(ctx)
		return nil
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // not "database does not exist"
		return fmt.Errorf("connect to %s: %w", redact(databaseURL), err)
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(adminURL), err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created concurrently
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// DropDatabase removes a database; tests use it to clean up after themselves.
func DropDatabase(ctx context.Context, databaseURL string) error {
	name, adminURL, err := splitDatabase(databaseURL)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(adminURL), err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

func splitDatabase(databaseURL string) (name, adminURL string, err error) {
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", "", fmt.Errorf("DATABASE_URL must be a postgres:// URL")
	}
	name = strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return "", "", fmt.Errorf("DATABASE_URL names no database")
	}
	admin := *u
	admin.Path = "/postgres"
	return name, admin.String(), nil
}

// redact hides the password of a connection URL in error messages.
func redact(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlxTx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

type sqlxTx = sqlx.Tx

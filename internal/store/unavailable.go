package store

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable says whether err means that PostgreSQL could not be reached
// or dropped the connection (restarting, shut down, the network cut,
// connections refused), not that the statement was wrong: the request may
// succeed when it is sent again, and the API answers 503 with Retry-After.
// The pool opens new connections by itself once PostgreSQL is back.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case strings.HasPrefix(pg.Code, "08"), // connection exception
			pg.Code == "57P01", // admin_shutdown (terminated)
			pg.Code == "57P02", // crash_shutdown
			pg.Code == "57P03", // cannot_connect_now (starting, shutting down)
			pg.Code == "53300": // too_many_connections
			return true
		}
		return false
	}
	var netErr net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.As(err, &netErr):
		return true
	}
	// pgx reports a connection it closed after a failure so.
	return strings.Contains(err.Error(), "conn closed")
}

package store

import (
	"database/sql/driver"
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"
)

// Strings is a PostgreSQL text[] column.
type Strings []string

var pgTypes = pgtype.NewMap()

// Scan reads a text[] value as the pgx driver hands it to database/sql.
func (s *Strings) Scan(src any) error {
	var out []string
	switch v := src.(type) {
	case nil:
		*s = nil
		return nil
	case string:
		if err := pgTypes.Scan(pgtype.TextArrayOID, pgtype.TextFormatCode, []byte(v), &out); err != nil {
			return fmt.Errorf("scan text[]: %w", err)
		}
	case []byte:
		if err := pgTypes.Scan(pgtype.TextArrayOID, pgtype.TextFormatCode, v, &out); err != nil {
			return fmt.Errorf("scan text[]: %w", err)
		}
	default:
		return fmt.Errorf("scan text[]: unexpected %T", src)
	}
	if out == nil {
		out = []string{}
	}
	*s = out
	return nil
}

// Value writes a text[] literal.
func (s Strings) Value() (driver.Value, error) {
	if s == nil {
		s = Strings{}
	}
	buf, err := pgTypes.Encode(pgtype.TextArrayOID, pgtype.TextFormatCode, []string(s), nil)
	if err != nil {
		return nil, err
	}
	return string(buf), nil
}

package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Administrators' changes to the directory that need a rule checked in the
// same transaction as the change: a user's role (the last active
// administrator stays one) and an agency's kind (its users must still
// belong there).

const (
	qSetRole         = `UPDATE users SET role = $2 WHERE id = $1`
	qLockAgency      = `SELECT id FROM agencies WHERE id = $1 FOR UPDATE`
	qAgencyUserRoles = `SELECT DISTINCT role FROM users WHERE agency_id = $1 ORDER BY role`
	qEditAgency      = `UPDATE agencies SET type = $2, region = $3, regions = $4, national = $5, services = $6,
		languages = $7, beds = $8 WHERE id = $1`
)

// SetUserRole gives a user another role and ends the user's sessions, in
// one step: the next request signs in afresh under the new role. The last
// active administrator keeps the role (ErrLastAdmin); an unknown user is
// ErrNotFound.
func (s *Store) SetUserRole(ctx context.Context, id uuid.UUID, role string, now time.Time) error {
	return s.inTx(ctx, func(tx *sqlxTx) error {
		// The same lock as DeactivateUser: two administrators demoting each
		// other at once cannot both succeed.
		var admins []uuid.UUID
		if err := tx.SelectContext(ctx, &admins, qLockActiveAdmins); err != nil {
			return fmt.Errorf("set role of %s: %w", id, err)
		}
		if role != "admin" && len(admins) == 1 && admins[0] == id {
			return ErrLastAdmin
		}
		res, err := tx.ExecContext(ctx, qSetRole, id, role)
		if err != nil {
			return fmt.Errorf("set role of %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("set role of %s: %w", id, ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, qRevokeAllUser, id, now); err != nil {
			return fmt.Errorf("revoke sessions of %s: %w", id, err)
		}
		return nil
	})
}

// EditAgency replaces an agency's kind, region, regions served, national
// flag, services, languages and beds (not its name) and answers it as
// stored. check is given the roles of the agency's users, read under a lock
// on the agency, and refuses the change by returning an error (the
// directory's rule that every user still belongs there). An unknown agency
// is ErrNotFound.
func (s *Store) EditAgency(ctx context.Context, a *Agency, check func(roles []string) error) (*Agency, error) {
	err := s.inTx(ctx, func(tx *sqlxTx) error {
		var id uuid.UUID
		if err := tx.GetContext(ctx, &id, qLockAgency, a.ID); err != nil {
			return fmt.Errorf("edit agency %s: %w", a.ID, notFound(err))
		}
		roles := []string{}
		if err := tx.SelectContext(ctx, &roles, qAgencyUserRoles, a.ID); err != nil {
			return fmt.Errorf("edit agency %s: %w", a.ID, err)
		}
		if err := check(roles); err != nil {
			return err
		}
		orEmpty := func(s Strings) Strings {
			if s == nil {
				return Strings{}
			}
			return slices.Clone(s)
		}
		_, err := tx.ExecContext(ctx, qEditAgency, a.ID, a.Type, a.Region, orEmpty(a.Regions), a.National, orEmpty(a.Services),
			orEmpty(a.Languages), a.Beds)
		if err != nil {
			return fmt.Errorf("edit agency %s: %w", a.ID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Agency(ctx, a.ID)
}

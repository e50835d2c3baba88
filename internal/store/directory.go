package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Agency is an organisation taking part in the mechanism.
type Agency struct {
	ID        uuid.UUID `db:"id" json:"id"`
	Name      string    `db:"name" json:"name"`
	Type      string    `db:"type" json:"type"`
	Region    string    `db:"region" json:"region"`
	Regions   Strings   `db:"regions" json:"regions"`
	National  bool      `db:"national" json:"national"`
	Services  Strings   `db:"services" json:"services"`
	Languages Strings   `db:"languages" json:"languages"`
	Beds      int       `db:"beds" json:"beds"`
	Occupancy int       `db:"occupancy" json:"occupancy"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	// LastReferredAt orders providers for routing (least recently used first).
	LastReferredAt *time.Time `db:"last_referred_at" json:"-"`
}

// User is a person who signs in. PasswordHash never leaves the server.
type User struct {
	ID           uuid.UUID `db:"id"`
	Email        string    `db:"email"`
	Name         string    `db:"name"`
	Role         string    `db:"role"`
	AgencyID     uuid.UUID `db:"agency_id"`
	PasswordHash string    `db:"password_hash"`
	Active       bool      `db:"active"`
	CreatedAt    time.Time `db:"created_at"`
	// Language is the web UI's language the user chose (empty when none).
	Language string `db:"language"`
}

const (
	qInsertAgency = `INSERT INTO agencies (id, name, type, region, regions, national, services, languages, beds, occupancy)
		VALUES (:id, :name, :type, :region, :regions, :national, :services, :languages, :beds, :occupancy)`
	qAgencyByID   = `SELECT * FROM agencies WHERE id = $1`
	qAgencyByName = `SELECT * FROM agencies WHERE lower(name) = lower($1)`
	qAgencies     = `SELECT * FROM agencies ORDER BY name`
	qInsertUser   = `INSERT INTO users (id, email, name, role, agency_id, password_hash, active)
		VALUES (:id, :email, :name, :role, :agency_id, :password_hash, :active)`
	qUserByEmail = `SELECT * FROM users WHERE lower(email) = lower($1)`
	qUserByID    = `SELECT * FROM users WHERE id = $1`
	qUsers       = `SELECT * FROM users ORDER BY email`
	qSetPassword = `UPDATE users SET password_hash = $2 WHERE id = $1`
	qDeactivate  = `UPDATE users SET active = false WHERE id = $1`
	// qLockActiveAdmins locks the rows in ID order, as every caller does, so
	// concurrent deactivations cannot deadlock.
	qLockActiveAdmins = `SELECT id FROM users WHERE role = 'admin' AND active ORDER BY id FOR UPDATE`
	qRevokeAllUser    = `UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL`
)

// CreateAgency inserts an agency; a duplicate name is ErrConflict.
func (s *Store) CreateAgency(ctx context.Context, a *Agency) error {
	if a.ID == uuid.Nil {
		a.ID = uuid.New()
	}
	if _, err := s.db.NamedExecContext(ctx, qInsertAgency, a); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("agency %q: %w", a.Name, ErrConflict)
		}
		return fmt.Errorf("create agency: %w", err)
	}
	return nil
}

// Agency returns one agency.
func (s *Store) Agency(ctx context.Context, id uuid.UUID) (*Agency, error) {
	var a Agency
	if err := s.db.GetContext(ctx, &a, qAgencyByID, id); err != nil {
		return nil, fmt.Errorf("agency %s: %w", id, notFound(err))
	}
	return &a, nil
}

// AgencyByName finds an agency by its (case-insensitive) name.
func (s *Store) AgencyByName(ctx context.Context, name string) (*Agency, error) {
	var a Agency
	if err := s.db.GetContext(ctx, &a, qAgencyByName, name); err != nil {
		return nil, fmt.Errorf("agency by name: %w", notFound(err))
	}
	return &a, nil
}

// Agencies lists every agency by name.
func (s *Store) Agencies(ctx context.Context) ([]Agency, error) {
	var out []Agency
	if err := s.db.SelectContext(ctx, &out, qAgencies); err != nil {
		return nil, fmt.Errorf("list agencies: %w", err)
	}
	return out, nil
}

// CreateUser inserts a user; a duplicate e-mail is ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	if u.ID == uuid.Nil {
		u.ID = uuid.New()
	}
	if _, err := s.db.NamedExecContext(ctx, qInsertUser, u); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("user: %w", ErrConflict)
		}
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// UserByEmail finds a user by e-mail, ignoring case.
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	if err := s.db.GetContext(ctx, &u, qUserByEmail, email); err != nil {
		return nil, fmt.Errorf("user by email: %w", notFound(err))
	}
	return &u, nil
}

// User returns one user.
func (s *Store) User(ctx context.Context, id uuid.UUID) (*User, error) {
	var u User
	if err := s.db.GetContext(ctx, &u, qUserByID, id); err != nil {
		return nil, fmt.Errorf("user %s: %w", id, notFound(err))
	}
	return &u, nil
}

// Users lists every user by e-mail.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	var out []User
	if err := s.db.SelectContext(ctx, &out, qUsers); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// SetPassword replaces a user's password hash and clears any lock-out.
func (s *Store) SetPassword(ctx context.Context, id uuid.UUID, hash string) error {
	if _, err := s.db.ExecContext(ctx, qSetPassword, id, hash); err != nil {
		return fmt.Errorf("set password %s: %w", id, err)
	}
	return nil
}

// DeactivateUser disables the account and revokes its sessions in one step.
func (s *Store) DeactivateUser(ctx context.Context, id uuid.UUID, now time.Time) error {
	return s.inTx(ctx, func(tx *sqlxTx) error {
		// Lock every active administrator's row, so that two administrators
		// deactivating each other at once cannot both succeed.
		var admins []uuid.UUID
		if err := tx.SelectContext(ctx, &admins, qLockActiveAdmins); err != nil {
			return fmt.Errorf("deactivate user %s: %w", id, err)
		}
		if len(admins) == 1 && admins[0] == id {
			return ErrLastAdmin
		}
		res, err := tx.ExecContext(ctx, qDeactivate, id)
		if err != nil {
			return fmt.Errorf("deactivate user %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("deactivate user %s: %w", id, ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, qRevokeAllUser, id, now); err != nil {
			return fmt.Errorf("revoke sessions of %s: %w", id, err)
		}
		return nil
	})
}

// AgencyChange lists the directory fields an administrator changes; nil keeps a field.
type AgencyChange struct {
	Services, Regions, Languages *[]string
	Beds                         *int
}

const qUpdateAgency = `UPDATE agencies SET
	services = COALESCE($2, services), regions = COALESCE($3, regions), languages = COALESCE($4, languages),
	beds = COALESCE($5, beds) WHERE id = $1`

// UpdateAgency changes an agency's services, regions, languages or beds.
// Beds below the current occupancy are refused by the table's check only
// when negative; a shelter may be over capacity until beds free up.
func (s *Store) UpdateAgency(ctx context.Context, id uuid.UUID, ch AgencyChange) (*Agency, error) {
	arr := func(p *[]string) any {
		if p == nil {
			return nil
		}
		return Strings(*p)
	}
	res, err := s.db.ExecContext(ctx, qUpdateAgency, id, arr(ch.Services), arr(ch.Regions), arr(ch.Languages), ch.Beds)
	if err != nil {
		return nil, fmt.Errorf("update agency %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fmt.Errorf("agency %s: %w", id, ErrNotFound)
	}
	return s.Agency(ctx, id)
}

package identity

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/crypto"
	"github.com/nrm-tm/nrm/internal/store"
)

// Corrections (store.Correction): a corrected identity is sealed anew under
// the case's own data key, with the blind indexes of its new values; the
// values before and after a correction and its reason are sealed under the
// same key, bound to the case and to the correction, so that a sealed value
// copied to another correction no longer opens. Destroying the key makes
// all of them unreadable with the identity.

// Reseal seals a case's corrected person under the case's data key and
// computes the blind indexes of its values (IndexVersion); ErrGone when the
// identity is no longer kept.
func (v *Vault) Reseal(ctx context.Context, caseID uuid.UUID, p Person) (*store.SealedPerson, []store.PersonIndex, error) {
	key, err := v.dataKey(ctx, caseID)
	if err != nil {
		return nil, nil, err
	}
	sp, err := sealPerson(key, caseID.String(), p)
	if err != nil {
		return nil, nil, fmt.Errorf("reseal person of case %s: %w", caseID, err)
	}
	return sp, v.indexes(p), nil
}

// CorrectionValues are a correction's contents in clear: the values before
// and after it (JSON) and why it was made.
type CorrectionValues struct {
	Previous, New []byte
	Reason        string
}

// correctionColumn binds a sealed value to its column and correction.
func correctionColumn(column string, correction uuid.UUID) string {
	return "case_corrections." + column + "/" + correction.String()
}

// SealCorrection seals a correction's contents into c (PreviousValues,
// NewValues, Reason) under the case's data key; ErrGone when the case
// keeps no key, so that no history is written that nobody could read.
func (v *Vault) SealCorrection(ctx context.Context, c *store.Correction, vals CorrectionValues) error {
	key, err := v.dataKey(ctx, c.CaseID)
	if err != nil {
		return err
	}
	id := c.CaseID.String()
	for _, f := range []struct {
		dst    *[]byte
		column string
		value  []byte
	}{
		{&c.PreviousValues, "previous_values", vals.Previous},
		{&c.NewValues, "new_values", vals.New},
		{&c.Reason, "reason", []byte(vals.Reason)},
	} {
		ct, err := crypto.Seal(key, id, correctionColumn(f.column, c.ID), f.value)
		if err != nil {
			return fmt.Errorf("seal correction of case %s: %w", c.CaseID, err)
		}
		*f.dst = ct
	}
	return nil
}

// OpenCorrection decrypts a correction's contents; ErrGone when the case's
// key was destroyed.
func (v *Vault) OpenCorrection(ctx context.Context, c store.Correction) (CorrectionValues, error) {
	key, err := v.dataKey(ctx, c.CaseID)
	if err != nil {
		return CorrectionValues{}, err
	}
	id := c.CaseID.String()
	var out CorrectionValues
	var reason []byte
	for _, f := range []struct {
		dst    *[]byte
		column string
		ct     []byte
	}{
		{&out.Previous, "previous_values", c.PreviousValues},
		{&out.New, "new_values", c.NewValues},
		{&reason, "reason", c.Reason},
	} {
		pt, err := crypto.Open(key, id, correctionColumn(f.column, c.ID), f.ct)
		if err != nil {
			return CorrectionValues{}, fmt.Errorf("open correction %d of case %s: %w", c.Seq, c.CaseID, err)
		}
		*f.dst = pt
	}
	out.Reason = string(reason)
	return out, nil
}

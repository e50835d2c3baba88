package notify

import (
	"context"
	"log/slog"
)

// LogChannel writes a line for every delivered notification: `nrm dev` turns
// it on so that a developer sees notifications without a webhook or a mail
// server. The line holds IDs and codes only.
type LogChannel struct {
	Log *slog.Logger
}

// Name implements Channel.
func (LogChannel) Name() string { return "log" }

// Send implements Channel.
func (l LogChannel) Send(ctx context.Context, m Message) error {
	log := l.Log
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "notification delivered", "id", m.ID, "kind", m.Kind, "case_number", m.CaseNumber,
		"recipient_role", m.RecipientRole, "agency_id", m.AgencyID.String())
	return nil
}

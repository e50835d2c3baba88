package devtemporal

import (
	"context"
	"log/slog"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// slogAdapter routes the Temporal server's logs into the process's slog
// logger. Temporal logs workflow and namespace IDs only; NRM keeps identity
// data out of every payload, so nothing personal can reach these lines.
type slogAdapter struct {
	log *slog.Logger
}

var _ log.Logger = slogAdapter{}

func (l slogAdapter) emit(level slog.Level, msg string, tags []tag.Tag) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	attrs := make([]any, 0, len(tags))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	l.log.Log(context.Background(), level, msg, attrs...)
}

func (l slogAdapter) Debug(msg string, tags ...tag.Tag)  { l.emit(slog.LevelDebug, msg, tags) }
func (l slogAdapter) Info(msg string, tags ...tag.Tag)   { l.emit(slog.LevelInfo, msg, tags) }
func (l slogAdapter) Warn(msg string, tags ...tag.Tag)   { l.emit(slog.LevelWarn, msg, tags) }
func (l slogAdapter) Error(msg string, tags ...tag.Tag)  { l.emit(slog.LevelError, msg, tags) }
func (l slogAdapter) DPanic(msg string, tags ...tag.Tag) { l.emit(slog.LevelError, msg, tags) }
func (l slogAdapter) Panic(msg string, tags ...tag.Tag)  { l.emit(slog.LevelError, msg, tags) }
func (l slogAdapter) Fatal(msg string, tags ...tag.Tag)  { l.emit(slog.LevelError, msg, tags) }

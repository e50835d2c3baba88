package devtemporal

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// slogAdapter routes the Temporal server's logs into the process's slog
// logger. Temporal logs workflow and namespace IDs only; NRM keeps identity
// data out of every payload, so nothing personal can reach these lines.
type slogAdapter struct {
	log *slog.Logger
	// starting is set while Start runs: a fatal error then panics with
	// fatal, which Start turns into its error. The server logs a fatal
	// error and goes on (a port it could not bind leaves a nil listener,
	// which a goroutine later serves on, killing the process).
	starting *atomic.Bool
}

var _ log.Logger = slogAdapter{}

// fatal is what Fatal panics with while the server starts.
type fatal struct{ msg string }

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
func (l slogAdapter) Fatal(msg string, tags ...tag.Tag) {
	l.emit(slog.LevelError, msg, tags)
	if l.starting != nil && l.starting.Load() {
		var b strings.Builder
		b.WriteString(msg)
		for _, t := range tags {
			fmt.Fprintf(&b, "; %s: %v", t.Key(), t.Value())
		}
		panic(fatal{msg: b.String()})
	}
}

package cases

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/serviceerror"
)

// Unavailable says whether err means that Temporal could not be reached or
// did not answer in time (restarting, overloaded, no worker took the
// command within the request's time): the command may succeed when it is
// sent again with the same Idempotency-Key, which makes it the same
// workflow update. The API answers 503 with Retry-After.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	var exhausted *serviceerror.ResourceExhausted
	var canceled *serviceerror.Canceled
	return errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.As(err, &exhausted) ||
		errors.As(err, &canceled) || errors.Is(err, context.DeadlineExceeded)
}

// CommandTimeout bounds how long a request waits for Temporal to take a
// command (a workflow update, or the start of a case's workflow): a restart
// of Temporal or of every worker is answered 503 then, and the client's
// retry with the same Idempotency-Key is the same update. It stays well
// below the API's idempotency lease (api.IdempotencyLease).
const CommandTimeout = 20 * time.Second

package auth

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ErrBusy is returned when no password-hashing slot frees within the gate's
// wait: the caller should answer "try again shortly", not queue further.
var ErrBusy = errors.New("password hashing is at capacity")

// HashWait is how long a hash waits for a slot by default. Two seconds let a
// burst of honest sign-ins queue behind a few hashes (about 0.3 s each on
// two cores) while an amplification attempt gets fast refusals instead of
// piling up requests, each pinning 64 MiB once it runs.
const HashWait = 2 * time.Second

// BusyRetryAfter is the Retry-After of a refusal for want of a slot: about
// the time for the queue of one wait to drain.
const BusyRetryAfter = 2 * time.Second

// MaxHashConcurrency is the most slots a gate may have (4 GiB of argon2id
// memory at the current parameters); more would only add latency on any
// machine NRM is sized for.
const MaxHashConcurrency = 64

// HashGate bounds how many argon2id computations run at once. Each one
// allocates the hash's memory cost (64 MiB) for its whole run, so without a
// bound, concurrent sign-ins to unknown e-mails turn request concurrency
// into memory (40 of them took the API from 247 MiB to 2.8 GiB). The bound
// is process-wide because memory is: see SetHashGate.
type HashGate struct {
	slots chan struct{}
	wait  time.Duration
}

// NewHashGate returns a gate of n slots (n <= 0: DefaultHashConcurrency)
// where a hash waits at most wait for a slot (wait <= 0: HashWait).
func NewHashGate(n int, wait time.Duration) *HashGate {
	if n <= 0 {
		n = DefaultHashConcurrency()
	}
	if wait <= 0 {
		wait = HashWait
	}
	return &HashGate{slots: make(chan struct{}, n), wait: wait}
}

// Slots is the gate's concurrency.
func (g *HashGate) Slots() int { return cap(g.slots) }

// Acquire takes a slot, waiting at most the gate's wait or until ctx ends,
// and returns the function that gives it back.
func (g *HashGate) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case g.slots <- struct{}{}:
		return g.release, nil
	default:
	}
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.release, nil
	case <-t.C:
		return nil, fmt.Errorf("no hashing slot of %d within %s: %w", cap(g.slots), g.wait, ErrBusy)
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a hashing slot: %w", ctx.Err())
	}
}

func (g *HashGate) release() { <-g.slots }

var gate atomic.Pointer[HashGate]

// SetHashGate makes g the gate of every hash this process computes
// (HashPassword, VerifyPassword): one bound per process, whatever number of
// servers or sessions it runs, because the memory it protects is the
// process's. Hashes already waiting on the previous gate finish there. It
// returns the previous gate (nil if none was set).
func SetHashGate(g *HashGate) (previous *HashGate) { return gate.Swap(g) }

func currentGate() *HashGate {
	if g := gate.Load(); g != nil {
		return g
	}
	// First use without SetHashGate (CLI, tests): install the default once.
	gate.CompareAndSwap(nil, NewHashGate(0, 0))
	return gate.Load()
}

// hashMemory is the memory one argon2id computation allocates.
func hashMemory() uint64 { return uint64(hashParams.Memory) * 1024 }

// DefaultHashConcurrency is GOMAXPROCS, at most as many hashes as fit in a
// quarter of the memory the process may use, and at least one. More hashes
// than CPUs do not finish sooner, they only hold memory longer; the quarter
// leaves the rest of the API its working set (the Kubernetes API pod's
// 512 MiB limit and one CPU give one slot). The memory limit is the
// smallest of GOMEMLIMIT, the cgroup's limit and the machine's RAM that is
// known.
func DefaultHashConcurrency() int {
	n := runtime.GOMAXPROCS(0)
	if limit := memoryLimit(); limit > 0 {
		n = min(n, int(limit/4/hashMemory()))
	}
	return min(max(n, 1), MaxHashConcurrency)
}

// memoryLimit returns the smallest known bound on the process's memory in
// bytes, or 0 when none is known.
func memoryLimit() uint64 {
	var limit uint64
	consider := func(v uint64) {
		// cgroup v1 says "unlimited" with a number near 2^63.
		if v > 0 && v < 1<<60 && (limit == 0 || v < limit) {
			limit = v
		}
	}
	if l := debug.SetMemoryLimit(-1); l > 0 && l < math.MaxInt64 {
		consider(uint64(l))
	}
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(f); err == nil {
			if v, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64); err == nil {
				consider(v)
			}
		}
	}
	consider(memTotal())
	return limit
}

// memTotal is MemTotal of /proc/meminfo in bytes, 0 where there is none.
func memTotal() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

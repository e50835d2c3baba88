package web

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nrm-tm/nrm/internal/reports"
)

// The TWG's report answers are kept per query: building those of a
// 100,000-case history takes seconds, nearly all of it PostgreSQL's. An
// answer is reused for twgCacheTTL; an older one, up to twgStaleMax, is
// still shown at once while a new one is built in the background for the
// next request; an older one still is built again while the request waits.
// One build per query at a time: a second request for it waits for the
// first's. The pages state the time their figures are as of (the report's
// as_of). Errors are not kept. The answers are the service's, for the TWG
// role only (twgOnly runs before), and hold no identity.

const (
	// twgCacheTTL is how long an answer is reused as it is.
	twgCacheTTL = 5 * time.Minute
	// twgStaleMax is how old an answer may be and still be shown while a
	// new one is built.
	twgStaleMax = time.Hour
	// twgRefreshTimeout bounds a background build.
	twgRefreshTimeout = 2 * time.Minute
	// twgMaxEntries bounds the answers kept per reports service.
	twgMaxEntries = 256
)

func twgKey(kind string, period reports.Period, parts ...string) string {
	return kind + "\x00" + period.From.Format(time.RFC3339) + "\x00" + period.To.Format(time.RFC3339) + "\x00" + strings.Join(parts, "\x00")
}

type twgCache struct {
	mu      sync.Mutex
	entries map[string]*twgEntry
}

type twgEntry struct {
	done       chan struct{} // closed once built
	val        any
	err        error
	at         time.Time
	refreshing bool // a background build runs (under the cache's mu)
}

// twgCaches holds one cache per reports service (a process may run
// several systems, as the tests do).
var twgCaches sync.Map

func twgCacheOf(rs *reports.Service) *twgCache {
	c, _ := twgCaches.LoadOrStore(rs, &twgCache{entries: map[string]*twgEntry{}})
	return c.(*twgCache)
}

// get answers the query's answer: kept, kept and refreshed behind, or
// built now with the request's context.
func (c *twgCache) get(ctx context.Context, key string, build func(context.Context) (any, error)) (any, error) {
	now := time.Now()
	c.mu.Lock()
	if e := c.entries[key]; e != nil {
		select {
		case <-e.done:
			age := now.Sub(e.at)
			if age <= twgStaleMax {
				if age > twgCacheTTL && !e.refreshing {
					e.refreshing = true
					go c.refresh(key, e, build)
				}
				c.mu.Unlock()
				return e.val, e.err
			}
		default: // being built: wait for it
			c.mu.Unlock()
			<-e.done
			return e.val, e.err
		}
	}
	if len(c.entries) >= twgMaxEntries {
		c.evict(now)
	}
	e := &twgEntry{done: make(chan struct{})}
	c.entries[key] = e
	c.mu.Unlock()
	e.val, e.err = build(ctx)
	e.at = time.Now()
	close(e.done)
	if e.err != nil {
		c.mu.Lock()
		if c.entries[key] == e {
			delete(c.entries, key)
		}
		c.mu.Unlock()
	}
	return e.val, e.err
}

// refresh builds a stale answer again, behind the requests that still get
// the old one; a failure keeps the old one (until twgStaleMax).
func (c *twgCache) refresh(key string, old *twgEntry, build func(context.Context) (any, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), twgRefreshTimeout)
	defer cancel()
	val, err := build(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	old.refreshing = false
	if err != nil || c.entries[key] != old {
		return
	}
	done := make(chan struct{})
	close(done)
	c.entries[key] = &twgEntry{done: done, val: val, at: time.Now()}
}

// evict drops the answers too old to show, or the oldest half when none
// is (under mu).
func (c *twgCache) evict(now time.Time) {
	type aged struct {
		key string
		at  time.Time
	}
	var kept []aged
	for k, e := range c.entries {
		select {
		case <-e.done:
			if now.Sub(e.at) > twgStaleMax {
				delete(c.entries, k)
				continue
			}
			kept = append(kept, aged{k, e.at})
		default:
		}
	}
	if len(c.entries) < twgMaxEntries {
		return
	}
	slices.SortFunc(kept, func(a, b aged) int { return a.at.Compare(b.at) })
	for _, a := range kept[:len(kept)/2] {
		delete(c.entries, a.key)
	}
}

// twgWarmEvery is how often KeepTWGWarm looks at the dashboard's answers:
// half the time an answer is reused as it is, so that the one kept is
// renewed (in the background) before it is too old to show at once.
const twgWarmEvery = twgCacheTTL / 2

// KeepTWGWarm builds the answers of the dashboard as /twg first opens — no
// filter, the default period — when the API process starts and keeps them
// fresh, so that the first TWG member of the day does not wait while the
// reports of a national history are built (about a second at 100,000
// cases on two cores, more while PostgreSQL's cache is cold). It returns
// when ctx ends. Failures are logged; the page then builds its answers
// itself, as without this.
func (p *Pages) KeepTWGWarm(ctx context.Context) {
	for {
		if _, err := p.WarmTWG(ctx); err != nil && ctx.Err() == nil {
			p.Log.Warn("TWG dashboard: building its answers ahead failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(twgWarmEvery):
		}
	}
}

// WarmTWG builds (or renews, see twgCache.get) the default dashboard's
// answers; built is false when there is nothing to build ahead. Nothing is
// built while the database holds no case: a new installation, or one about
// to be loaded in bulk, whose kept answers would hide the load for
// twgCacheTTL.
func (p *Pages) WarmTWG(ctx context.Context) (built bool, err error) {
	if p.Reports == nil {
		return false, nil
	}
	if has, err := p.Reports.Store.AnyCase(ctx); err != nil || !has {
		return false, err
	}
	var errs formErrors
	period, months := p.twgPeriod(twgFilter{}, &errs)
	if len(errs) > 0 {
		return false, fmt.Errorf("twg: the default period is refused: %s", errs[0].Msg)
	}
	if _, err := p.twgAnswers(ctx, twgFilter{}, period, months); err != nil {
		return false, err
	}
	return true, nil
}

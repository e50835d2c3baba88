package loadtest

import (
	"context"
	"slices"
	"sync"
	"time"
)

// phase is the latencies of runs of one kind of operation, the time the
// runs took, and why operations failed.
type phase struct {
	lat      []time.Duration
	took     time.Duration
	failures map[string]int
}

func (p *phase) add(o phase) {
	p.lat, p.took = append(p.lat, o.lat...), p.took+o.took
	for r, n := range o.failures {
		p.fail(r, n)
	}
}

func (p *phase) fail(reason string, n int) {
	if p.failures == nil {
		p.failures = map[string]int{}
	}
	p.failures[reason] += n
}

func (p *phase) stats() Stats {
	return Stats{Count: len(p.lat), Rate: Rate(len(p.lat), p.took), P50: Percentile(p.lat, 50), P99: Percentile(p.lat, 99)}
}

// Rate is n operations over the time they took, per second (0 without time).
func Rate(n int, took time.Duration) float64 {
	if took <= 0 {
		return 0
	}
	return float64(n) / took.Seconds()
}

// Percentile is the latency that p percent of lat do not exceed, by the
// nearest rank (0 for none).
func Percentile(lat []time.Duration, p int) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// op is one operation; i numbers it within its run.
type op func(ctx context.Context, i int) error

// runOps runs op n times, conc at a time, and stops handing out more after
// the first failure: the run fails anyway, and a server that is down
// should not be waited on n times.
func runOps(ctx context.Context, conc, n int, f op) phase {
	// Operations under way finish with ctx: cancelling them would add
	// failures that only the cancellation caused.
	handOut, stop := context.WithCancel(ctx)
	defer stop()
	var mu sync.Mutex
	var res phase
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for i := range next {
				lat, err := timed(ctx, i, f)
				mu.Lock()
				if err != nil {
					res.fail(reason(err), 1)
					stop()
				} else {
					res.lat = append(res.lat, lat)
				}
				mu.Unlock()
			}
		})
	}
	dispatch(handOut, n, next)
	wg.Wait()
	res.took = time.Since(start)
	return res
}

// dispatch hands out 0..n-1 until the context ends, then closes next.
func dispatch(ctx context.Context, n int, next chan<- int) {
	defer close(next)
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			return
		}
	}
}

func timed(ctx context.Context, i int, f op) (time.Duration, error) {
	t := time.Now()
	err := f(ctx, i)
	return time.Since(t), err
}

// readAtRate runs op perSecond times a second for span, each on its own
// schedule (a slow answer does not hold back the next), as readers who do
// not wait for one another.
func readAtRate(ctx context.Context, perSecond int, span time.Duration, f op) phase {
	var mu sync.Mutex
	var res phase
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	end := time.Now().Add(span)
	for i := 0; time.Now().Before(end); i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return res
		case <-tick.C:
		}
		wg.Go(func() {
			lat, err := timed(ctx, i, f)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.fail(reason(err), 1)
				return
			}
			res.lat = append(res.lat, lat)
		})
	}
	wg.Wait()
	res.took = span
	return res
}

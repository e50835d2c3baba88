package auth

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// useGate makes g the process's gate for the test.
func useGate(t testing.TB, g *HashGate) {
	prev := SetHashGate(g)
	t.Cleanup(func() { SetHashGate(prev) })
}

func TestHashGateRefusesWhenNoSlotFrees(t *testing.T) {
	g := NewHashGate(2, 30*time.Millisecond)
	ctx := context.Background()
	r1, err1 := g.Acquire(ctx)
	r2, err2 := g.Acquire(ctx)
	if err1 != nil || err2 != nil {
		t.Fatalf("free slots refused: %v, %v", err1, err2)
	}
	start := time.Now()
	if _, err := g.Acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("third hash on two slots: %v, want ErrBusy", err)
	}
	if waited := time.Since(start); waited < 30*time.Millisecond || waited > time.Second {
		t.Errorf("refused after %s, want the gate's wait of 30ms", waited)
	}
	// A slot that frees within the wait is taken.
	go func() { time.Sleep(5 * time.Millisecond); r1() }()
	r3, err := g.Acquire(ctx)
	if err != nil {
		t.Fatalf("a slot freed within the wait was not taken: %v", err)
	}
	// The caller giving up ends the wait early, and is not ErrBusy.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.Acquire(cctx); !errors.Is(err, context.Canceled) || errors.Is(err, ErrBusy) {
		t.Errorf("cancelled wait: %v", err)
	}
	r2()
	r3()
}

// TestUnknownUsersHashUnderTheSameBound: the dummy hash of an unknown e-mail
// takes a slot like a real one, so a full gate refuses both alike and
// neither the refusal nor its absence tells whether the account exists.
func TestUnknownUsersHashUnderTheSameBound(t *testing.T) {
	g := NewHashGate(1, 20*time.Millisecond)
	useGate(t, g)
	real, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	release, err := g.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for name, hash := range map[string]string{"unknown user": "", "existing user": real} {
		if ok, err := VerifyPassword(context.Background(), "wrong password!", hash); ok || !errors.Is(err, ErrBusy) {
			t.Errorf("%s with the only slot taken: %v, %v; want ErrBusy", name, ok, err)
		}
	}
	if _, err := HashPassword("another password 42"); !errors.Is(err, ErrBusy) {
		t.Errorf("HashPassword with the only slot taken: %v; want ErrBusy", err)
	}
	release()
	if ok, err := VerifyPassword(context.Background(), "correct horse battery staple", real); !ok || err != nil {
		t.Errorf("right password after the slot freed: %v, %v", ok, err)
	}
	if ok, err := VerifyPassword(context.Background(), "wrong password!", ""); ok || err != nil {
		t.Errorf("unknown user after the slot freed: %v, %v; want false, nil", ok, err)
	}
}

func TestDefaultHashConcurrency(t *testing.T) {
	n := DefaultHashConcurrency()
	if n < 1 || n > MaxHashConcurrency || n > runtime.GOMAXPROCS(0) {
		t.Errorf("DefaultHashConcurrency() = %d with GOMAXPROCS %d", n, runtime.GOMAXPROCS(0))
	}
	// A 512 MiB limit (the Kubernetes API pod's) leaves a quarter, two hashes.
	prev := debug.SetMemoryLimit(512 << 20)
	defer debug.SetMemoryLimit(prev)
	if n := DefaultHashConcurrency(); n > 2 {
		t.Errorf("with GOMEMLIMIT=512MiB: %d slots, want at most 2", n)
	}
	debug.SetMemoryLimit(64 << 20)
	if n := DefaultHashConcurrency(); n != 1 {
		t.Errorf("with GOMEMLIMIT=64MiB: %d slots, want 1 (never none)", n)
	}
}

// unboundedPeak is the peak heap of the unbounded run, for the ratio the
// bounded run reports.
var unboundedPeak float64

// BenchmarkSignInMemory signs in 40 unknown e-mails at once, as the probe
// did (VerifyPassword against the dummy hash: what Login does for them),
// and reports the peak heap while they run: without a bound ("unbounded",
// a gate with a slot each) and under the default gate ("bounded": slots and
// wait as the server has them; refused/op counts the hashes answered ErrBusy,
// 503 in the API, instead of queuing). Run:
//
//	go test -run '^$' -bench SignInMemory -benchtime 1x ./internal/auth/
func BenchmarkSignInMemory(b *testing.B) {
	const concurrent = 40
	run := func(b *testing.B, g *HashGate) {
		useGate(b, g)
		var peak, refused atomic.Uint64
		for b.Loop() {
			runtime.GC()
			stop := sampleHeap(&peak)
			var wg sync.WaitGroup
			for range concurrent {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := VerifyPassword(context.Background(), "wrong password!", ""); errors.Is(err, ErrBusy) {
						refused.Add(1)
					} else if err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
			stop()
		}
		mib := float64(peak.Load()) / (1 << 20)
		b.ReportMetric(mib, "peak-heap-MiB")
		b.ReportMetric(float64(refused.Load())/float64(b.N), "refused/op")
		b.ReportMetric(float64(g.Slots()), "slots")
		if g.Slots() >= concurrent {
			unboundedPeak = mib
		} else if unboundedPeak > 0 {
			b.ReportMetric(mib/unboundedPeak, "x_unbounded")
		}
	}
	b.Run("unbounded", func(b *testing.B) { run(b, NewHashGate(concurrent, time.Hour)) })
	b.Run("bounded", func(b *testing.B) { run(b, NewHashGate(0, HashWait)) })
}

// sampleHeap records the largest HeapInuse seen until stop is called.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var m runtime.MemStats
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

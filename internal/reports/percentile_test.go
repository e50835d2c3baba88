package reports

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestStatPercentilesMatchSorting checks the selection-based percentiles
// against percentile_cont computed on a sorted copy.
func TestStatPercentilesMatchSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 1; n < 300; n++ {
		xs := make([]float64, n)
		for i := range xs {
			if rng.IntN(3) == 0 {
				xs[i] = float64(rng.IntN(5)) // duplicates
			} else {
				xs[i] = rng.Float64() * 1000
			}
		}
		sorted := slices.Clone(xs)
		slices.Sort(sorted)
		wantM, wantP := percentile(sorted, 0.5), percentile(sorted, 0.9)
		count, m, p := percentiles(xs)
		if count != int64(n) || *m != wantM.v || *p != wantP.v {
			t.Fatalf("n=%d: median %v p90 %v, want %v %v", n, *m, *p, wantM.v, wantP.v)
		}
	}
	if c, m, p := percentiles(nil); c != 0 || m != nil || p != nil {
		t.Error("percentiles of nothing")
	}
}

package devtemporal_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/server/common/dynamicconfig"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// The production Temporal's dynamic configuration
// (deploy/temporal/dynamicconfig/nrm.yaml) loads without an error or a
// warning under the pinned server's own loader — what
// `temporal-server validate-dynamic-config` runs — so a misspelt key or a
// value of the wrong type is not silently ignored by the server; and it
// gives every task queue one partition, which deploy/README.md ("Task queue
// partitions") and the load figures rely on.
func TestDeployDynamicConfigLoads(t *testing.T) {
	path := filepath.Join(testenv.RepoRoot(), "deploy", "temporal", "dynamicconfig", "nrm.yaml")
	contents, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	loaded := dynamicconfig.LoadYamlFile(contents)
	if len(loaded.Errors) > 0 || len(loaded.Warnings) > 0 {
		t.Fatalf("%s: errors %v, warnings %v", path, loaded.Errors, loaded.Warnings)
	}
	for _, key := range []string{"matching.numTaskqueueReadPartitions", "matching.numTaskqueueWritePartitions"} {
		values := loaded.Map[dynamicconfig.MakeKey(key)]
		if len(values) != 1 || values[0].Constraints != (dynamicconfig.Constraints{}) || values[0].Value != 1 {
			t.Errorf("%s = %+v, want 1 for every task queue", key, values)
		}
	}
}

package app

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/nrm-tm/nrm/activities"
	"github.com/nrm-tm/nrm/internal/config"
	"github.com/nrm-tm/nrm/internal/crypto"
	"github.com/nrm-tm/nrm/internal/identity"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// SearchAttributes are the custom search attributes the workflows set; the
// dev server registers them and the deployment creates them (deploy/).
var SearchAttributes = map[string]enumspb.IndexedValueType{
	workflows.AttrStage.GetName():      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	workflows.AttrSOPVersion.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	workflows.AttrAgencyID.GetName():   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	workflows.AttrChild.GetName():      enumspb.INDEXED_VALUE_TYPE_BOOL,
}

// DialTemporal connects a client to the Temporal frontend, with mTLS when
// configured; the SDK reports its metrics to metrics (nil: none).
func DialTemporal(cfg *config.Config, hostPort string, keys *crypto.Keyring, log *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	return dialTemporal(cfg, hostPort, keys, log, metrics, processIdentity())
}

// dialTemporal is DialTemporal with the identity the process's worker polls as.
func dialTemporal(cfg *config.Config, hostPort string, keys *crypto.Keyring, log *slog.Logger, metrics client.MetricsHandler, identity string) (client.Client, error) {
	opts := client.Options{
		HostPort:       hostPort,
		Identity:       identity,
		Namespace:      cfg.TemporalNamespace,
		Logger:         sdklog.NewStructuredLogger(log.With("component", "temporal-client")),
		MetricsHandler: metrics,
		// Every payload is encrypted on its way to Temporal (defence in depth:
		// the workflows carry IDs and codes only).
		DataConverter: converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), crypto.NewPayloadCodec(keys)),
	}
	if cfg.TemporalTLSCA != "" || cfg.TemporalTLSCert != "" {
		tlsConf, err := temporalTLS(cfg)
		if err != nil {
			return nil, err
		}
		opts.ConnectionOptions.TLS = tlsConf
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", hostPort, err)
	}
	return c, nil
}

func temporalTLS(cfg *config.Config) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TemporalTLSServer}
	if cfg.TemporalTLSCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.TemporalTLSCert, cfg.TemporalTLSKey)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CERT/KEY: %w", err)
		}
		t.Certificates = []tls.Certificate{pair}
	}
	if cfg.TemporalTLSCA != "" {
		pem, err := os.ReadFile(cfg.TemporalTLSCA)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: no certificate in %s", cfg.TemporalTLSCA)
		}
		t.RootCAs = pool
	}
	return t, nil
}

// NewWorker registers every workflow and activity on the task queue.
func NewWorker(c client.Client, taskQueue string, st *store.Store, sops *sop.Set, vault *identity.Vault) worker.Worker {
	return newWorker(c, taskQueue, st, sops, vault, worker.Options{})
}

func newWorker(c client.Client, taskQueue string, st *store.Store, sops *sop.Set, vault *identity.Vault, opts worker.Options) worker.Worker {
	w := worker.New(c, taskQueue, opts)
	workflows.Register(w, sops)
	(&activities.Activities{Store: st, Vault: vault}).Register(w)
	return w
}

package devtemporal

import (
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// A port Temporal cannot bind — taken by another process between freePort
// and the bind — is an error Start returns (the caller picks ports again),
// not a crash of the process: the server logs it as fatal and would
// otherwise go on with no listener.
func TestStartOnATakenPortIsAnError(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := Start(Options{Addr: taken.Addr().String(), Namespace: "nrm", Logger: quiet,
		DatabaseFile: filepath.Join(t.TempDir(), "temporal.sqlite")})
	if err == nil {
		srv.Stop()
		t.Fatal("started on a port another listener holds")
	}
	if !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("error %q does not say the address is in use", err)
	}
	// The process goes on, and a server on free ports starts.
	srv, err = Start(Options{Namespace: "nrm", Logger: quiet, DatabaseFile: filepath.Join(t.TempDir(), "temporal.sqlite")})
	if err != nil {
		t.Fatalf("start on free ports after the failure: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
}

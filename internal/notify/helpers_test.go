package notify_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/crypto"
	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// personal is the identity of the fixture's person: none of it may leave
// the system in a notification or appear in a log line.
var personal = []string{"Aýna", "Berdiýewa", "+99365000000", "I-AŞ 123456", "Turkmenabat railway station", "Istanbul", "2001-05-14"}

// world is a database with an opening agency (law enforcement), a
// competent authority, another police agency, and a case of the first.
type world struct {
	st        *store.Store
	keys      *crypto.Keyring
	agency    *store.Agency
	authority *store.Agency
	other     *store.Agency
	user      *store.User
	cs        *store.Case
	t0        time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(t))
	testenv.Must(t, err)
	t.Cleanup(func() { st.Close() })
	_, err = st.Migrate(ctx)
	testenv.Must(t, err)
	key := make([]byte, crypto.KeySize)
	rand.Read(key)
	keys, err := crypto.NewKeyring(crypto.MasterKey{Key: key})
	testenv.Must(t, err)
	w := &world{st: st, keys: keys, t0: time.Now().UTC().Truncate(time.Second)}
	w.agency = w.addAgency(t, "law_enforcement")
	w.authority = w.addAgency(t, "competent_authority")
	w.other = w.addAgency(t, "law_enforcement")
	w.user = w.addUser(t, w.agency, "frontline")
	birth := time.Date(2001, 5, 14, 0, 0, 0, 0, time.UTC)
	w.cs = &store.Case{ID: uuid.New(), AgencyID: w.agency.ID, CreatedBy: w.user.ID, SOPID: "tm-nrm", SOPVersion: "2026.1", SOPHash: "h",
		Stage: "identification", Sex: "female", AgeBand: "24-26", Citizenship: "TM", Region: "lebap", EncounterContext: "border_check",
		EncounteredAt: w.t0, Indicators: store.Strings{}, Exploitation: store.Strings{"labour"}, UrgentNeeds: store.Strings{},
		ScreeningOutcome: "presumed_victim", Screening: json.RawMessage(`{}`), OpenedAt: w.t0}
	// The identity is sealed (package identity); the markers stay out of every payload.
	_, _ = personal, birth
	testenv.Must(t, st.CreateCase(ctx, w.cs, testenv.DummyIdentity(), "TM", 2026))
	return w
}

// secrets adds and opens webhook channels under the world's master key.
func (w *world) secrets() notify.Secrets { return notify.Secrets{Store: w.st, Keys: w.keys} }

func (w *world) addAgency(t *testing.T, typ string) *store.Agency {
	t.Helper()
	a := &store.Agency{Name: typ + " " + uuid.NewString()[:8], Type: typ, Region: "lebap"}
	testenv.Must(t, w.st.CreateAgency(context.Background(), a))
	return a
}

func (w *world) addUser(t *testing.T, a *store.Agency, role string) *store.User {
	t.Helper()
	u := &store.User{Email: uuid.NewString() + "@example.org", Name: "Officer", Role: role, AgencyID: a.ID, PasswordHash: "x", Active: true}
	testenv.Must(t, w.st.CreateUser(context.Background(), u))
	return u
}

// add writes notifications as the workflow's activity does: one per role,
// the nth created n milliseconds after t0.
func (w *world) add(t *testing.T, kind string, roles ...string) []string {
	t.Helper()
	var ids []string
	var ns []store.Notification
	for _, role := range roles {
		id := fmt.Sprintf("case-%s/preliminary_decision/1/%s/%s/%s", w.cs.ID, kind, role, uuid.NewString()[:8])
		due := w.t0.Add(72 * time.Hour)
		ns = append(ns, store.Notification{ID: id, CaseID: w.cs.ID, Kind: kind, Obligation: "preliminary_decision",
			ObligationID: fmt.Sprintf("case-%s/preliminary_decision/1", w.cs.ID), RecipientRole: role, DueAt: &due,
			CreatedAt: w.t0.Add(time.Duration(len(ns)) * time.Millisecond)})
		ids = append(ids, id)
	}
	testenv.Must(t, w.st.RecordTransition(context.Background(), store.Transition{CaseID: w.cs.ID, At: w.t0, Notifications: ns}))
	return ids
}

// statuses maps the case's notification IDs to their status.
func (w *world) statuses(t *testing.T) map[string]string {
	t.Helper()
	list, err := w.st.CaseNotifications(context.Background(), w.cs.ID)
	testenv.Must(t, err)
	out := map[string]string{}
	for _, n := range list {
		out[n.ID] = n.Status
	}
	return out
}

// loopbackHooks lets webhooks reach the tests' receivers on 127.0.0.1, as
// `nrm dev` does; without it the dispatcher refuses them.
var loopbackHooks = &notify.WebhookPolicy{AllowLoopback: true}

// fakeDNS answers look-ups from its table, so that tests neither depend on
// the network nor wait on it; a name it does not hold does not exist.
type fakeDNS struct {
	mu    sync.Mutex
	names map[string][]netip.Addr
}

func newFakeDNS(names map[string]string) *fakeDNS {
	f := &fakeDNS{names: map[string][]netip.Addr{}}
	for n, a := range names {
		f.set(n, a)
	}
	return f
}

// set points name at the comma-separated addresses.
func (f *fakeDNS) set(name, addrs string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var list []netip.Addr
	for _, a := range strings.Split(addrs, ",") {
		list = append(list, netip.MustParseAddr(a))
	}
	f.names[name] = list
}

func (f *fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.names[strings.ToLower(strings.TrimSuffix(host, "."))]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// receiver is a webhook endpoint that records what it gets.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	delay  time.Duration
	got    []delivery
	hits   map[string]int
}

type delivery struct {
	header http.Header
	body   []byte
	at     time.Time
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{status: http.StatusNoContent, hits: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, delivery{header: req.Header.Clone(), body: body, at: time.Now()})
		r.hits[req.Header.Get("X-NRM-Delivery")]++
		status, delay := r.status, r.delay
		r.mu.Unlock()
		time.Sleep(delay)
		rw.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) setStatus(s int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = s
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// clock is a settable time for the dispatcher.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// logBuffer collects log lines safely from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLog() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// noPersonalData fails when any identity of the fixture's person is in s.
func noPersonalData(t *testing.T, what, s string) {
	t.Helper()
	for _, p := range personal {
		if strings.Contains(s, p) {
			t.Errorf("%s contains personal data %q", what, p)
		}
	}
}

// checkSigned verifies a delivery as the OpenAPI document tells receivers
// to — HMAC-SHA256 keyed with the 64-character hex secret as ASCII bytes,
// over X-NRM-Timestamp + "." + body, compared with X-NRM-Signature — and
// returns the signature it expected.
func checkSigned(t *testing.T, d delivery, secret string) string {
	t.Helper()
	ts := d.header.Get("X-NRM-Timestamp")
	sent, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sent, 0)).Abs() > time.Minute {
		t.Errorf("X-NRM-Timestamp = %q, want the Unix time of sending", ts)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(d.body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if sig := d.header.Get("X-NRM-Signature"); !hmac.Equal([]byte(sig), []byte(want)) {
		t.Errorf("X-NRM-Signature = %q, want %q", sig, want)
	}
	return want
}

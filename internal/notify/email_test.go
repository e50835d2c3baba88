package notify_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// fakeSMTP speaks just enough SMTP (EHLO/HELO, MAIL, RCPT, DATA, RSET,
// NOOP, QUIT) to receive a message: the edge of the world.
type fakeSMTP struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []smtpMessage
}

type smtpMessage struct {
	from string
	to   []string
	data []byte
}

func startFakeSMTP(t *testing.T) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err)
	s := &fakeSMTP{ln: ln}
	var wg sync.WaitGroup
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(conn) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return s
}

func (s *fakeSMTP) Addr() string { return s.ln.Addr().String() }

func (s *fakeSMTP) messages() []smtpMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMessage(nil), s.msgs...)
}

func (s *fakeSMTP) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(conn)
	tp.PrintfLine("220 fake.test ESMTP")
	var cur smtpMessage
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			tp.PrintfLine("250-fake.test greets %s", arg)
			tp.PrintfLine("250 8BITMIME")
		case "HELO":
			tp.PrintfLine("250 fake.test")
		case "MAIL":
			cur = smtpMessage{from: addrOf(arg)}
			tp.PrintfLine("250 2.1.0 OK")
		case "RCPT":
			cur.to = append(cur.to, addrOf(arg))
			tp.PrintfLine("250 2.1.5 OK")
		case "DATA":
			tp.PrintfLine("354 end with <CRLF>.<CRLF>")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			cur.data = data
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			s.mu.Unlock()
			tp.PrintfLine("250 2.0.0 queued")
		case "RSET", "NOOP":
			tp.PrintfLine("250 OK")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("502 5.5.2 not implemented")
		}
	}
}

// addrOf takes the address out of "FROM:<a@b>" or "TO:<a@b>".
func addrOf(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	addr, _, _ := strings.Cut(rest, ">")
	return addr
}

func TestDispatchEmailCarriesCaseNumberAndLinkOnly(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ids := w.add(t, "breach", "opening_agency")
	smtpd := startFakeSMTP(t)
	_, _, err := w.secrets().AddChannel(ctx, w.agency.ID, store.ChannelEmail, "duty-desk@police.example.org")
	testenv.Must(t, err)
	// A webhook that fails once: the e-mail, delivered already, is not sent again on the retry.
	rcv := newReceiver(t)
	rcv.setStatus(http.StatusBadGateway)
	_, _, err = w.secrets().AddChannel(ctx, w.agency.ID, store.ChannelWebhook, rcv.URL)
	testenv.Must(t, err)
	clk := &clock{t: w.t0}
	log, logs := newLog()
	d := &notify.Dispatcher{Store: w.st, Keys: w.keys, PublicURL: "https://nrm.example.org", Log: log, Now: clk.Now, Webhooks: loopbackHooks,
		SMTP: notify.SMTP{Addr: smtpd.Addr(), From: "NRM <notifications@nrm.example.org>"}}

	if n, err := d.DeliverOnce(ctx); err != nil || n != 1 {
		t.Fatalf("claimed %d (%v)", n, err)
	}
	msgs := smtpd.messages()
	if len(msgs) != 1 {
		t.Fatalf("SMTP server got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.from != "notifications@nrm.example.org" || !slices.Equal(m.to, []string{"duty-desk@police.example.org"}) {
		t.Errorf("envelope from %q to %q", m.from, m.to)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(m.data))
	testenv.Must(t, err)
	subject := msg.Header.Get("Subject")
	body, _ := io.ReadAll(msg.Body)
	link := "https://nrm.example.org/cases/" + w.cs.ID.String()
	if !strings.Contains(subject, w.cs.Number) {
		t.Errorf("subject %q lacks the case number %s", subject, w.cs.Number)
	}
	if !strings.Contains(string(body), w.cs.Number) || !strings.Contains(string(body), link) {
		t.Errorf("body lacks the case number or the link:\n%s", body)
	}
	allowedHeaders := []string{"Auto-Submitted", "Content-Transfer-Encoding", "Content-Type", "Date", "From", "Message-Id",
		"Mime-Version", "Subject", "To"}
	for k := range msg.Header {
		if !slices.Contains(allowedHeaders, k) {
			t.Errorf("unexpected header %s: %s", k, msg.Header.Get(k))
		}
	}
	if to := msg.Header.Get("To"); to != "duty-desk@police.example.org" {
		t.Errorf("To = %q", to)
	}
	noPersonalData(t, "e-mail", string(m.data))
	// Nothing else of the case: no region, sex, age band, citizenship or exploitation.
	for _, other := range []string{"lebap", "female", "24-26", "labour", "border_check"} {
		if strings.Contains(string(m.data), other) {
			t.Errorf("e-mail carries case data %q", other)
		}
	}
	if s := w.statuses(t)[ids[0]]; s != store.NotificationPending {
		t.Fatalf("status with the webhook failing = %s, want pending", s)
	}

	rcv.setStatus(http.StatusOK)
	clk.set(w.t0.Add(notify.DefaultBackoff[0]))
	if n, err := d.DeliverOnce(ctx); err != nil || n != 1 {
		t.Fatalf("retry pass claimed %d (%v)", n, err)
	}
	if len(smtpd.messages()) != 1 || len(rcv.deliveries()) != 2 {
		t.Errorf("after the retry: %d e-mails (want 1), %d webhook deliveries (want 2)", len(smtpd.messages()), len(rcv.deliveries()))
	}
	if s := w.statuses(t)[ids[0]]; s != store.NotificationDelivered {
		t.Errorf("status = %s, want delivered", s)
	}
	noPersonalData(t, "log", logs.String())
}

func TestDispatchEmailWithoutSMTPIsSkippedWithOneWarning(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ids := w.add(t, "reminder", "opening_agency", "supervisor", "opening_agency")
	_, _, err := w.secrets().AddChannel(ctx, w.agency.ID, store.ChannelEmail, "duty-desk@police.example.org")
	testenv.Must(t, err)
	log, logs := newLog()
	d := &notify.Dispatcher{Store: w.st, Keys: w.keys, Log: log}
	if n, err := d.DeliverOnce(ctx); err != nil || n != 3 {
		t.Fatalf("claimed %d (%v)", n, err)
	}
	for _, id := range ids {
		if s := w.statuses(t)[id]; s != store.NotificationDelivered {
			t.Errorf("%s: status %s, want delivered (in-app)", id, s)
		}
	}
	if n := strings.Count(logs.String(), "no SMTP server is configured"); n != 1 {
		t.Errorf("%d warnings about the missing SMTP server, want 1:\n%s", n, logs.String())
	}
}

func TestDispatchEmailToADeadServerIsRetried(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ids := w.add(t, "breach", "opening_agency")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there
	_, _, err = w.secrets().AddChannel(ctx, w.agency.ID, store.ChannelEmail, "duty-desk@police.example.org")
	testenv.Must(t, err)
	clk := &clock{t: w.t0}
	log, _ := newLog()
	d := &notify.Dispatcher{Store: w.st, Keys: w.keys, Log: log, Now: clk.Now, SMTP: notify.SMTP{Addr: addr, From: "nrm@example.org", Timeout: 2 * time.Second}}
	if n, err := d.DeliverOnce(ctx); err != nil || n != 1 {
		t.Fatalf("claimed %d (%v)", n, err)
	}
	attempts, err := w.st.Attempts(ctx, ids[0])
	testenv.Must(t, err)
	if len(attempts) != 1 || attempts[0].Status != store.AttemptFailed || attempts[0].Error == "" {
		t.Errorf("attempts = %+v, want one failed with its error", attempts)
	}
}

package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"
)

// SMTP is the mail server the dispatcher sends e-mail through. Addr is
// host:port (NRM_SMTP_ADDR), From the sender address (NRM_SMTP_FROM); User
// and Password (NRM_SMTP_USER, NRM_SMTP_PASSWORD) are optional. STARTTLS is
// used when the server offers it; credentials are only ever sent over TLS
// or to a server on this host (net/smtp's PLAIN auth refuses otherwise).
type SMTP struct {
	Addr     string
	From     string
	User     string
	Password string
	// Timeout bounds one message's whole conversation; default 30 s.
	Timeout time.Duration
}

// Configured reports whether e-mail can be sent.
func (s SMTP) Configured() bool { return s.Addr != "" && s.From != "" }

// kindSubjects are the e-mail subjects of the notification kinds. The kind
// code itself stands in for kinds not listed.
var kindSubjects = map[string]string{
	"reminder":           "Reminder: a deadline is approaching",
	"breach":             "A deadline was missed",
	"escalation":         "Escalation: a deadline was missed",
	"new_referral":       "New referral",
	"referral":           "New referral",
	"decision_needed":    "A decision is needed",
	"closure_to_approve": "A case closure awaits approval",
	// Transfers and reopenings (workflows/transfer.go, reopen.go).
	"case_transferred":      "A case was transferred to your agency",
	"case_transferred_away": "A case was transferred to another agency",
	"case_reopened":         "A closed case was reopened",
}

func subjectOf(kind string) string {
	if s, ok := kindSubjects[kind]; ok {
		return s
	}
	return "Notification: " + kind
}

// composeEmail builds the message: the case number and link, the kind and
// obligation codes and times; nothing about the person.
func composeEmail(from, to string, m Message, now time.Time) []byte {
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, oneLine(v)) }
	header("From", from)
	header("To", to)
	header("Subject", "[NRM] "+subjectOf(m.Kind)+" - case "+m.CaseNumber)
	header("Date", now.UTC().Format(time.RFC1123Z))
	header("Message-ID", messageID(m.ID, from))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "8bit")
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	line := func(format string, args ...any) {
		b.WriteString(oneLine(fmt.Sprintf(format, args...)))
		b.WriteString("\r\n")
	}
	line("%s.", subjectOf(m.Kind))
	line("")
	line("Case:        %s", m.CaseNumber)
	line("Kind:        %s", m.Kind)
	if m.Obligation != "" {
		line("Obligation:  %s", m.Obligation)
	}
	if m.DueAt != nil {
		line("Due:         %s", m.DueAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	line("For:         %s", m.RecipientRole)
	line("")
	line("Open the case: %s", m.Link)
	line("")
	line("Sign in to NRM to see the case. This message carries no personal data;")
	line("do not reply with any. Notification %s.", m.ID)
	return b.Bytes()
}

// messageID is stable per notification, so that a repeated delivery is
// recognised as the same message by mail clients.
func messageID(id, from string) string {
	sum := sha256.Sum256([]byte(id))
	domain := "nrm.invalid"
	if a, err := mail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
			domain = d
		}
	}
	return "<" + hex.EncodeToString(sum[:16]) + "@" + domain + ">"
}

// oneLine keeps a header or line from being split by CR or LF.
func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// send delivers one message to one address.
func (s SMTP) send(ctx context.Context, to string, msg []byte) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("SMTP address %q: %w", s.Addr, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if s.User != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("the SMTP server offers no AUTH")
		}
		if err := c.Auth(smtp.PlainAuth("", s.User, s.Password, host)); err != nil {
			return fmt.Errorf("SMTP auth: %w", err)
		}
	}
	from := s.From
	if a, err := mail.ParseAddress(s.From); err == nil {
		from = a.Address // "NRM <nrm@example.org>" in the header, the bare address in MAIL FROM
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

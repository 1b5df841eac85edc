// Package mail sends the instance's mail. Every message is first written to the
// outbox table, so an instance without SMTP (the default, and any air-gapped site)
// still has every invitation, verification and reset link readable by its admin.
package mail

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"quire/app/config"
	"quire/store"
)

// Mailer records mail in the outbox and, when SMTP is configured, delivers it.
type Mailer struct {
	Store *store.Store
	SMTP  config.SMTP
	Log   *slog.Logger
}

// Send records the message and tries to deliver it. Delivery failures are
// recorded on the outbox row and logged, never returned: the caller's action
// (an invitation, a reset) has happened and the admin can read the link.
func (m *Mailer) Send(ctx context.Context, to, subject, body string) error {
	id, err := m.Store.AddMail(ctx, to, subject, body)
	if err != nil {
		return err
	}
	if m.SMTP.Host == "" {
		m.Log.Info("mail written to outbox (no SMTP configured)", "to", to, "subject", subject, "outbox_id", id)
		return nil
	}
	// Deliver in the background so a slow mail server never stalls a request.
	go func() {
		err := m.deliver(to, subject, body)
		errText := ""
		if err != nil {
			errText = err.Error()
			m.Log.Warn("mail delivery failed", "to", to, "outbox_id", id, "err", err)
		}
		_ = m.Store.MarkMail(context.Background(), id, err == nil, errText)
	}()
	return nil
}

func (m *Mailer) deliver(to, subject, body string) error {
	addr := net.JoinHostPort(m.SMTP.Host, strconv.Itoa(m.SMTP.Port))
	var a smtp.Auth
	if m.SMTP.Username != "" {
		a = smtp.PlainAuth("", m.SMTP.Username, m.SMTP.Password, m.SMTP.Host)
	}
	msg := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		m.SMTP.From, to, headerSafe(subject), time.Now().Format(time.RFC1123Z), strings.ReplaceAll(body, "\n", "\r\n"))
	return smtp.SendMail(addr, a, m.SMTP.From, []string{to}, []byte(msg))
}

// headerSafe removes line breaks so user-influenced text cannot inject headers.
func headerSafe(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

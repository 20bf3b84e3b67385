package audit

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// smtpPolicy decides the reply to RCPT TO for a recipient, given whether
// the session is under TLS.
type smtpPolicy func(rcpt string, overTLS bool) string

const testHostname = "mx.example.com"

// closedPolicy accepts only plain recipients in the server's own domain.
func closedPolicy(rcpt string, _ bool) string {
	local, domain, ok := cutLast(rcpt, "@")
	if ok && strings.EqualFold(domain, testHostname) && !strings.ContainsAny(local, "%!@\"") && !strings.HasPrefix(rcpt, "@") {
		return "250 2.1.5 Ok"
	}
	return "554 5.7.1 <" + rcpt + ">: Relay access denied"
}

func openPolicy(string, bool) string { return "250 2.1.5 Ok" }

// percentPolicy behaves like a server that rewrites user%remote@local to
// user@remote after the relay check has already passed.
func percentPolicy(rcpt string, overTLS bool) string {
	local, _, _ := cutLast(rcpt, "@")
	if strings.Contains(local, "%") && !strings.Contains(local, "\"") {
		return "250 2.1.5 Ok"
	}
	return closedPolicy(rcpt, overTLS)
}

// tlsTrustPolicy trusts every client that upgraded to TLS.
func tlsTrustPolicy(rcpt string, overTLS bool) string {
	if overTLS {
		return "250 2.1.5 Ok"
	}
	return closedPolicy(rcpt, overTLS)
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

type testSMTPServer struct {
	t        *testing.T
	ln       net.Listener
	policy   smtpPolicy
	tls      *tls.Config
	greeting string
	data     atomic.Bool // set if a client ever sent DATA
	rcpts    sync.Map    // recipients seen, for assertions
	wg       sync.WaitGroup
}

// startSMTP runs a small SMTP server on 127.0.0.1:0 until the test ends.
func startSMTP(t *testing.T, policy smtpPolicy, withTLS bool) *testSMTPServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testSMTPServer{t: t, ln: ln, policy: policy, greeting: "220 " + testHostname + " ESMTP test"}
	if withTLS {
		s.tls = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
		if s.data.Load() {
			t.Error("the audit sent DATA")
		}
	})
	return s
}

func (s *testSMTPServer) addr() string { return s.ln.Addr().String() }

func (s *testSMTPServer) serve(c net.Conn) {
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	w := func(lines ...string) {
		for _, l := range lines {
			_, _ = c.Write([]byte(l + "\r\n"))
		}
	}
	w(s.greeting)
	overTLS := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"250-" + testHostname, "250-PIPELINING"}
			if s.tls != nil && !overTLS {
				ext = append(ext, "250-STARTTLS")
			}
			w(append(ext, "250 8BITMIME")...)
		case "HELO":
			w("250 " + testHostname)
		case "MAIL":
			w("250 2.1.0 Ok")
		case "RCPT":
			rcpt := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(arg, "TO:"), "<"), ">")
			s.rcpts.Store(rcpt, true)
			w(s.policy(rcpt, overTLS))
		case "RSET", "NOOP":
			w("250 2.0.0 Ok")
		case "STARTTLS":
			if s.tls == nil || overTLS {
				w("502 5.5.1 not here")
				continue
			}
			w("220 2.0.0 Ready to start TLS")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c = tc
			br = bufio.NewReader(tc)
			overTLS = true
		case "DATA":
			s.data.Store(true)
			w("554 5.5.1 no DATA in tests")
		case "QUIT":
			w("221 2.0.0 Bye")
			return
		default:
			w("502 5.5.2 Error: command not recognized")
		}
	}
}

// selfSigned makes a throwaway certificate for the STARTTLS tests.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: testHostname},
		DNSNames:     []string{testHostname},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

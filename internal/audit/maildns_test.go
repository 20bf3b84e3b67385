package audit

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// zoneServer answers from a fixed record list, as a resolver would: any
// name it does not hold is NXDOMAIN unless some record lives below it.
func zoneServer(t *testing.T, records []string) string {
	t.Helper()
	var rrs []dns.RR
	for _, s := range records {
		rrs = append(rrs, rr(t, s))
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(".", func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.RecursionAvailable = true
		q := req.Question[0]
		exists := false
		for _, r := range rrs {
			h := r.Header()
			if dns.IsSubDomain(q.Name, h.Name) {
				exists = true
			}
			if strings.EqualFold(h.Name, q.Name) && h.Rrtype == q.Qtype {
				m.Answer = append(m.Answer, r)
			}
		}
		if !exists {
			m.Rcode = dns.RcodeNameError
		}
		writeSized(w, req, m)
	})
	return startDNS(t, mux)
}

func dkimKey(t *testing.T, bits int) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// txtRR splits a long TXT value into 255-byte strings as zone files must.
func txtRR(name, value string) string {
	var parts []string
	for len(value) > 200 {
		parts = append(parts, `"`+value[:200]+`"`)
		value = value[200:]
	}
	parts = append(parts, `"`+value+`"`)
	return name + " 300 IN TXT " + strings.Join(parts, " ")
}

func mailZone(t *testing.T) []string {
	k2048, k1024 := dkimKey(t, 2048), dkimKey(t, 1024)
	recs := []string{
		// good.example.com: everything in order, MX with v4 and v6 FCrDNS.
		`good.example.com. 300 IN TXT "google-site-verification=x"`,
		`good.example.com. 300 IN TXT "v=spf1 mx a:mail.good.example.com include:_spf.good.example.com -all"`,
		`_spf.good.example.com. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"`,
		`_dmarc.good.example.com. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.example.com"`,
		txtRR("sel1._domainkey.good.example.com.", "v=DKIM1; k=rsa; p="+k2048),
		txtRR("old._domainkey.good.example.com.", "v=DKIM1; k=rsa; p="+k1024),
		`good.example.com. 300 IN MX 10 mail.good.example.com.`,
		`mail.good.example.com. 300 IN A 192.0.2.10`,
		`mail.good.example.com. 300 IN AAAA 2001:db8::10`,
		`10.2.0.192.in-addr.arpa. 300 IN PTR mail.good.example.com.`,
		`0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR mail.good.example.com.`,

		// bad.example.net: no SPF, no DMARC, MX without PTR, MX without address.
		`bad.example.net. 300 IN TXT "hello"`,
		`bad.example.net. 300 IN MX 10 mx.bad.example.net.`,
		`bad.example.net. 300 IN MX 20 gone.bad.example.net.`,
		`mx.bad.example.net. 300 IN A 198.51.100.7`,

		// weak.example.org: softfail with too many lookups, p=none, PTR that
		// does not resolve back.
		`weak.example.org. 300 IN TXT "v=spf1 include:a.weak.example.org include:b.weak.example.org ptr ~all"`,
		`a.weak.example.org. 300 IN TXT "v=spf1 a mx exists:x.weak.example.org include:c.weak.example.org ?all"`,
		`b.weak.example.org. 300 IN TXT "v=spf1 a mx a:1.weak.example.org a:2.weak.example.org -all"`,
		`c.weak.example.org. 300 IN TXT "v=spf1 a mx -all"`,
		`_dmarc.weak.example.org. 300 IN TXT "v=DMARC1; p=none; pct=50"`,
		`weak.example.org. 300 IN MX 10 mx.weak.example.org.`,
		`mx.weak.example.org. 300 IN A 203.0.113.5`,
		`5.113.0.203.in-addr.arpa. 300 IN PTR static-5.isp.example.net.`,
		`static-5.isp.example.net. 300 IN A 203.0.113.99`,

		// plus.example.com: two SPF records, one with +all.
		`plus.example.com. 300 IN TXT "v=spf1 +all"`,
		`plus.example.com. 300 IN TXT "v=spf1 -all"`,

		// redirect.example.com: policy through redirect=, null MX.
		`redirect.example.com. 300 IN TXT "v=spf1 redirect=_spf.redirect.example.com"`,
		`_spf.redirect.example.com. 300 IN TXT "v=spf1 ip6:2001:db8::/32 -all"`,
		`_dmarc.redirect.example.com. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@redirect.example.com"`,
		`redirect.example.com. 300 IN MX 0 .`,

		// big.example.com: TXT records too big for UDP, so the SPF record is
		// only seen after the TCP retry.
		`big.example.com. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"`,
		`_dmarc.big.example.com. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:d@big.example.com"`,
		`big.example.com. 300 IN MX 0 .`,

		// evil.example.com: an escape sequence in a PTR name.
		`evil.example.com. 300 IN TXT "v=spf1 -all"`,
		`_dmarc.evil.example.com. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:d@evil.example.com"`,
		`evil.example.com. 300 IN MX 10 mx.evil.example.com.`,
		`mx.evil.example.com. 300 IN A 192.0.2.66`,
	}
	for i := 0; i < 8; i++ {
		recs = append(recs, fmt.Sprintf(`big.example.com. 300 IN TXT "verification-%d=%s"`, i, strings.Repeat("v", 200)))
	}
	return recs
}

func findings(r Result) []Finding { return r.Data.(*MailDNSData).Findings }

func hasFinding(r Result, area, sev, text string) bool {
	for _, f := range findings(r) {
		if f.Area == area && f.Severity == sev && strings.Contains(f.Text, text) {
			return true
		}
	}
	return false
}

func TestMailDNS(t *testing.T) {
	zone := mailZone(t)
	// A PTR whose name holds an escape sequence: the wire format allows any
	// byte in a label.
	evil := new(dns.PTR)
	evil.Hdr = dns.RR_Header{Name: "66.2.0.192.in-addr.arpa.", Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 300}
	evil.Ptr = "mx\x1b[31m.evil.example.com."
	addr := zoneServer(t, append(zone, evil.String()))

	type want struct{ area, sev, text string }
	cases := []struct {
		domain    string
		selectors []string
		verdict   Verdict
		want      []want
	}{
		{"good.example.com", []string{"sel1", "old"}, Fine, []want{
			{"SPF", SeverityOK, "ends -all"},
			{"SPF", SeverityOK, "(3 DNS lookups)"},
			{"DMARC", SeverityOK, "p=reject"},
			{"DKIM", SeverityOK, "RSA key of 2048 bits"},
			{"DKIM", SeverityWarn, "RSA key of 1024 bits"},
			{"PTR", SeverityOK, "mail.good.example.com. (192.0.2.10) -> mail.good.example.com. -> 192.0.2.10: forward-confirmed"},
			{"PTR", SeverityOK, "(2001:db8::10)"},
		}},
		{"bad.example.net", nil, Problem, []want{
			{"SPF", SeverityProblem, "no SPF record"},
			{"DMARC", SeverityProblem, "no DMARC record"},
			{"DKIM", SeverityUnknown, "selectors cannot be discovered"},
			{"PTR", SeverityProblem, "(198.51.100.7) has no PTR record"},
			{"MX", SeverityProblem, "gone.bad.example.net. has no A or AAAA"},
		}},
		{"weak.example.org", []string{"missing"}, Problem, []want{
			{"SPF", SeverityWarn, "ends ~all"},
			{"SPF", SeverityProblem, "13 DNS lookups, more than the 10"},
			{"SPF", SeverityWarn, "ptr mechanism"},
			{"DMARC", SeverityWarn, "p=none"},
			{"DMARC", SeverityWarn, "pct=50"},
			{"DMARC", SeverityWarn, "no rua="},
			{"DKIM", SeverityProblem, "no DKIM key at missing._domainkey.weak.example.org"},
			{"PTR", SeverityProblem, "static-5.isp.example.net., which does not resolve back"},
		}},
		{"plus.example.com", nil, Problem, []want{
			{"SPF", SeverityProblem, "2 SPF records"},
			{"DMARC", SeverityProblem, "no DMARC"},
			{"MX", SeverityWarn, "no MX records"},
		}},
		{"redirect.example.com", nil, Fine, []want{
			{"SPF", SeverityOK, "ends -all"},
			{"MX", SeverityOK, "null MX"},
			{"DMARC", SeverityOK, "p=quarantine"},
		}},
		{"big.example.com", nil, Fine, []want{
			{"SPF", SeverityOK, "v=spf1 ip4:192.0.2.0/24 -all (0 DNS lookups): ends -all"},
		}},
		{"nxdomain.example.com", nil, Problem, []want{
			{"SPF", SeverityProblem, "does not exist"},
		}},
		{"evil.example.com", nil, Problem, []want{
			{"PTR", SeverityProblem, "does not resolve back"},
		}},
	}
	for _, c := range cases {
		t.Run(c.domain, func(t *testing.T) {
			t.Parallel()
			r := CheckMailDNS(context.Background(), MailDNSOptions{Domain: c.domain, Resolver: addr, DKIMSelectors: c.selectors, Timeout: 2 * time.Second})
			report := strings.Join(r.Details, "\n")
			if r.Verdict != c.verdict {
				t.Errorf("verdict %v, want %v: %s\n%s", r.Verdict, c.verdict, r.Summary, report)
			}
			for _, w := range c.want {
				if !hasFinding(r, w.area, w.sev, w.text) {
					t.Errorf("missing %s %s %q in\n%s", w.area, w.sev, w.text, report)
				}
			}
			for _, l := range append(append(r.Details, r.Transcript...), r.Summary) {
				if strings.ContainsRune(l, 0x1b) {
					t.Errorf("escape in output: %q", l)
				}
			}
		})
	}
}

func TestMailDNSBadInput(t *testing.T) {
	for _, d := range []string{"", "localhost", "exa mple.com", "a\x1b.example.com"} {
		r := CheckMailDNS(context.Background(), MailDNSOptions{Domain: d, Resolver: "127.0.0.1:1"})
		if r.Verdict != Unknown || strings.ContainsRune(r.Summary, 0x1b) {
			t.Errorf("%q: %v %q", d, r.Verdict, r.Summary)
		}
	}
}

func TestMailDNSResolverDown(t *testing.T) {
	port := freePort(t)
	r := CheckMailDNS(context.Background(), MailDNSOptions{Domain: "example.com", Resolver: fmt.Sprintf("127.0.0.1:%d", port), Timeout: 300 * time.Millisecond})
	if r.Verdict != Unknown {
		t.Errorf("verdict %v: %s", r.Verdict, r.Summary)
	}
}

package loggen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// Attacks that WriteAccessLog can mix into the benign traffic.
const (
	AttackPageFlood   = "page_flood"
	AttackSingleFlood = "single_flood"
	AttackLogin       = "login"
	AttackScanner     = "scanner"
)

// AccessLog describes a generated access log.
type AccessLog struct {
	Lines   int       // lines to write
	Seed    uint64    // same seed, same file
	Start   time.Time // time of the first line
	Rate    float64   // benign requests per second (data time)
	Clients int       // distinct benign visitors
	V6Share float64   // share of IPv6 visitors
	Vhost   bool      // write vhost_combined instead of combined
	// Attacks to mix in from AttackFrom (a share of Lines, 0..1) on; while
	// they run, AttackShare of the lines are attack lines.
	Attacks     []string
	AttackFrom  float64
	AttackShare float64
}

// DefaultAccessLog is the benchmark file: 1 M lines (~150 MB) over about
// five and a half hours of a shop's traffic, ~10 % IPv6.
func DefaultAccessLog() AccessLog {
	return AccessLog{Lines: 1_000_000, Seed: 1, Start: time.Date(2026, 3, 3, 6, 0, 0, 0, time.UTC), Rate: 50,
		Clients: 40000, V6Share: 0.1, AttackFrom: 0.9, AttackShare: 0.6}
}

// Truth is what a generated file holds, for tests to compare with.
type Truth struct {
	Lines       int
	Bytes       int64
	AttackLines int
	Attackers   map[string][]string // attack name → its addresses
}

// WriteAccessLog writes the log to w.
func WriteAccessLog(w io.Writer, c AccessLog) (Truth, error) {
	tr := Truth{Attackers: map[string][]string{}}
	if c.Rate <= 0 {
		c.Rate = 50
	}
	if c.Clients <= 1 {
		c.Clients = 2
	}
	web := NewWeb(c.Seed, c.Clients, c.V6Share)
	rng := rand.New(rand.NewPCG(c.Seed^0xa77ac4, c.Seed))
	type attack interface{ Next(time.Time) HTTP }
	var attacks []attack
	for _, name := range c.Attacks {
		switch strings.TrimSpace(name) {
		case AttackPageFlood:
			// The flood is the bulk of an attack's lines, as in the
			// accidental DoS it models: four shares to the others' one.
			f := web.NewPageFlood(2000)
			attacks = append(attacks, f, f, f, f)
			for _, ip := range f.IPs {
				tr.Attackers[name] = append(tr.Attackers[name], ip.String())
			}
		case AttackSingleFlood:
			f := web.NewSingleFlood()
			attacks = append(attacks, f)
			tr.Attackers[name] = []string{f.IP.String()}
		case AttackLogin:
			b := web.NewLoginBruteforce(20)
			attacks = append(attacks, b)
			for _, ip := range b.IPs {
				tr.Attackers[name] = append(tr.Attackers[name], ip.String())
			}
		case AttackScanner:
			s := web.NewScanner()
			attacks = append(attacks, s)
			tr.Attackers[name] = []string{s.IP.String()}
		case "":
		default:
			return tr, fmt.Errorf("unknown attack %q (known: page_flood, single_flood, login, scanner)", name)
		}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	buf := make([]byte, 0, 1024)
	t := c.Start
	from := int(c.AttackFrom * float64(c.Lines))
	for i := 0; i < c.Lines; i++ {
		var r HTTP
		if len(attacks) > 0 && i >= from && rng.Float64() < c.AttackShare {
			// Attack lines come on top of the benign rate, so time moves
			// only with benign lines.
			r = attacks[rng.IntN(len(attacks))].Next(t)
			tr.AttackLines++
		} else {
			t = t.Add(time.Duration(rng.ExpFloat64() / c.Rate * float64(time.Second)))
			r = web.Benign(t)
			r.Time = t
		}
		r.Time = t
		buf = buf[:0]
		if c.Vhost {
			buf = AppendVhostCombined(buf, &r)
		} else {
			buf = AppendCombined(buf, &r)
		}
		tr.Bytes += int64(len(buf))
		if _, err := bw.Write(buf); err != nil {
			return tr, err
		}
		tr.Lines++
	}
	return tr, bw.Flush()
}

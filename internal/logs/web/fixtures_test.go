package web

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/logs"
	"github.com/irtui/irtui/internal/testkit"
)

// autoFormats are the formats tried, in order, when a test does not know
// which one a line is in (format detection proper lives elsewhere).
var autoFormats = []string{NameCombined, NameApacheError, NameNginxError}

// parseAuto parses line with the first format that accepts it.
func parseAuto(ps []logs.Parser, line string, ev *logs.Event) error {
	var first error
	for _, p := range ps {
		err := p.Parse(line, ev)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

func autoParsers(t testing.TB) []logs.Parser {
	var ps []logs.Parser
	for _, n := range autoFormats {
		ps = append(ps, parser(t, n, testOpts))
	}
	return ps
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		defer gz.Close()
		r = gz
	}
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), logs.MaxLineBytes*2)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestFail2banSamples: every "match": true sample with an IP host in the
// fail2ban filters for Apache and nginx must parse, with that host as Src.
func TestFail2banSamples(t *testing.T) {
	dir := testkit.Fixture(t, "fail2ban")
	files, _ := filepath.Glob(filepath.Join(dir, "apache-*"))
	more, _ := filepath.Glob(filepath.Join(dir, "nginx-*"))
	files = append(files, more...)
	if len(files) < 15 {
		t.Fatalf("only %d fail2ban web sample files", len(files))
	}
	ps := autoParsers(t)
	total, ok := 0, 0
	for _, path := range files {
		lines := readLines(t, path)
		for i, l := range lines {
			j, found := strings.CutPrefix(l, "# failJSON:")
			if !found {
				continue
			}
			var fj struct {
				Match bool   `json:"match"`
				Host  string `json:"host"`
			}
			if err := json.Unmarshal([]byte(strings.TrimSpace(j)), &fj); err != nil {
				t.Errorf("%s:%d: %v", filepath.Base(path), i+1, err)
				continue
			}
			host, err := netip.ParseAddr(fj.Host)
			if !fj.Match || err != nil {
				continue
			}
			// the sample is the next line that is not a comment
			k := i + 1
			for k < len(lines) && (strings.HasPrefix(lines[k], "#") || strings.TrimSpace(lines[k]) == "") {
				k++
			}
			if k >= len(lines) {
				continue
			}
			total++
			var ev logs.Event
			if err := parseAuto(ps, lines[k], &ev); err != nil {
				t.Logf("miss %s:%d: %v: %q", filepath.Base(path), k+1, err, lines[k])
				continue
			}
			if ev.Src != host {
				t.Logf("miss %s:%d: src %s, want %s", filepath.Base(path), k+1, ev.Src, host)
				continue
			}
			ok++
		}
	}
	t.Logf("fail2ban web samples: %d/%d", ok, total)
	if total < 70 || ok*100 < total*99 {
		t.Errorf("fail2ban web samples: %d/%d parsed with the right host, want >= 99%%", ok, total)
	}
}

// TestCrowdsecHub checks source address, status and verb against the
// values the crowdsec hub's own parsers assert for the same lines.
func TestCrowdsecHub(t *testing.T) {
	dir := testkit.Fixture(t, "crowdsec-hub/tests")
	folders := []string{"nginx_http-logs", "apache2-logs", "traefik_clf", "litespeed-logs", "nginx_req_limit_exceeded",
		"apache-http-probing", "http-dos-bypass-cache", "http-dos-random-uri", "nginx-http-generic-bf",
		"nginx-http-path-traversal", "nginx-http-sensitive-files", "nginx-http-sqli-probing", "nginx-http-xss-probing"}
	re := regexp.MustCompile(`^results\["s01-parse"\]\["([^"]+)"\]\[(\d+)\]\.Evt\.(Parsed|Meta)\["(message|source_ip|http_status|http_verb)"\] == (".*")$`)
	// s01 parsers overwrite "message" with what they extracted; the raw
	// line is the one the s00 stage saw for the same event index.
	rawRe := regexp.MustCompile(`^results\["s00-raw"\]\["crowdsecurity/non-syslog"\]\[(\d+)\]\.Evt\.Parsed\["message"\] == (".*")$`)
	type rec struct{ message, src, status, verb string }
	ps := autoParsers(t)
	checked, lines := 0, 0
	for _, folder := range folders {
		assert := filepath.Join(dir, folder, "parser.assert")
		if _, err := os.Stat(assert); err != nil {
			t.Errorf("%s: %v", folder, err)
			continue
		}
		recs := map[string]*rec{}
		raw := map[string]string{}
		var order []string
		for _, l := range readLines(t, assert) {
			if m := rawRe.FindStringSubmatch(l); m != nil {
				v, err := strconv.Unquote(m[2])
				if err != nil {
					t.Fatalf("%s: %v in %q", folder, err, l)
				}
				raw[m[1]] = v
				continue
			}
			m := re.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			v, err := strconv.Unquote(m[5])
			if err != nil {
				t.Fatalf("%s: %v in %q", folder, err, l)
			}
			key := m[1] + "/" + m[2]
			r := recs[key]
			if r == nil {
				r = &rec{}
				recs[key] = r
				order = append(order, key)
			}
			switch m[4] {
			case "message":
				if r.message == "" {
					r.message = v
				}
				if rl, ok := raw[m[2]]; ok {
					r.message = rl
				}
			case "source_ip":
				r.src = v
			case "http_status":
				r.status = v
			case "http_verb":
				r.verb = v
			}
		}
		for _, key := range order {
			r := recs[key]
			if r.message == "" || r.src == "" {
				continue
			}
			var ev logs.Event
			err := parseAuto(ps, r.message, &ev)
			if err != nil {
				if r.status != "" || r.verb != "" {
					t.Errorf("%s %s: HTTP line not parsed: %v: %q", folder, key, err, r.message)
				} else {
					t.Logf("%s %s: not a web server line irtui reads (%v): %q", folder, key, err, r.message)
				}
				continue
			}
			checked++
			if ev.Src.String() != r.src {
				t.Errorf("%s %s: src %s, want %s", folder, key, ev.Src, r.src)
			}
			if r.status != "" && strconv.Itoa(ev.HTTP.Status) != r.status && !(r.status == "-" && ev.HTTP.Status == 0) {
				t.Errorf("%s %s: status %d, want %s", folder, key, ev.HTTP.Status, r.status)
			}
			if r.verb != "" && ev.HTTP.Method != r.verb {
				t.Errorf("%s %s: method %q, want %q", folder, key, ev.HTTP.Method, r.verb)
			}
		}
	}
	// Every line of every web folder parses, but LiteSpeed's own error-log
	// lines, which are not an Apache or nginx format.
	all := append(folders, "http-admin-interface-probing", "http-bf-wordpress-bf", "http-wordpress-scan", "http-wordpress_user-enum", "http-wordpress_wpconfig")
	for _, folder := range all {
		logsIn, _ := filepath.Glob(filepath.Join(dir, folder, "*.log"))
		if len(logsIn) == 0 {
			t.Errorf("%s: no log", folder)
		}
		for _, path := range logsIn {
			for i, l := range readLines(t, path) {
				if strings.TrimSpace(l) == "" {
					continue
				}
				var ev logs.Event
				if err := parseAuto(ps, l, &ev); err != nil {
					if folder == "litespeed-logs" && !strings.Contains(l, `"`) {
						continue
					}
					t.Errorf("%s:%d: %v", folder, i+1, err)
				}
				lines++
			}
		}
	}
	t.Logf("crowdsec hub: %d asserted web lines agree, %d lines parsed", checked, lines)
	if checked < 35 || lines < 650 {
		t.Errorf("only %d asserted and %d parsed crowdsec lines", checked, lines)
	}
}

// TestElasticApacheLogs: 10,000 real combined lines, all valid.
func TestElasticApacheLogs(t *testing.T) {
	path := testkit.Fixture(t, "elastic-examples/common-data-formats/apache_logs/apache_logs")
	lines := readLines(t, path)
	if len(lines) != 10000 {
		t.Fatalf("%d lines, want 10000", len(lines))
	}
	p := parser(t, NameCombined, testOpts)
	for i, l := range lines {
		var ev logs.Event
		if err := p.Parse(l, &ev); err != nil {
			t.Errorf("line %d: %v", i+1, err)
			continue
		}
		if !ev.Src.IsValid() || ev.HTTP.Status < 100 || ev.Time.Year() != 2015 {
			t.Errorf("line %d: src %v status %d time %v", i+1, ev.Src, ev.HTTP.Status, ev.Time)
		}
	}
}

// TestWekilos: seven rotated days of a real nginx site, TLS junk included.
func TestWekilos(t *testing.T) {
	dir := testkit.Fixture(t, "real-web/wekilos-BPlogs")
	files, _ := filepath.Glob(filepath.Join(dir, "access.log.*.gz"))
	if len(files) != 7 {
		t.Fatalf("%d files, want 7", len(files))
	}
	p := parser(t, NameCombined, testOpts)
	total, parsed, junk := 0, 0, 0
	reasons := map[string]int{}
	for _, f := range files {
		for _, l := range readLines(t, f) {
			total++
			var ev logs.Event
			if err := p.Parse(l, &ev); err != nil {
				var pe *logs.ParseError
				if errors.As(err, &pe) {
					reasons[pe.Reason]++
				}
				continue
			}
			parsed++
			if ev.HTTP.Method == "" {
				junk++
			}
		}
	}
	t.Logf("wekilos: %d/%d parsed, %d requests without a method (junk, TLS), malformed by reason %v", parsed, total, junk, reasons)
	if total != 289272 {
		t.Errorf("%d lines, want 289272", total)
	}
	if parsed*1000 < total*995 {
		t.Errorf("wekilos: %d/%d parsed, want >= 99.5%%", parsed, total)
	}
	if junk == 0 {
		t.Error("no junk requests seen; TLS handshakes should parse as requests without a method")
	}
}

// TestElasticBeatsGroundTruth compares with the TSV derived from Elastic's
// expected output for its nginx test log.
func TestElasticBeatsGroundTruth(t *testing.T) {
	base := testkit.Fixture(t, "elastic-beats/filebeat/module/nginx/access/test/test.log")
	lines := readLines(t, base)
	truth := readLines(t, base+"-expected.derived.tsv")
	p := parser(t, NameCombined, testOpts)
	n := 0
	for _, row := range truth {
		if strings.HasPrefix(row, "#") || row == "" {
			continue
		}
		f := strings.Split(row, "\t")
		no, _ := strconv.Atoi(f[0])
		line := lines[no-1]
		var ev logs.Event
		if err := p.Parse(line, &ev); err != nil {
			t.Errorf("line %d: %v", no, err)
			continue
		}
		n++
		wantSrc := netip.MustParseAddr(f[2])
		url := ev.HTTP.Path
		if ev.HTTP.Query != "" {
			url += "?" + ev.HTTP.Query
		}
		method := ev.HTTP.Method
		if method == "" {
			method, url = "-", "-"
		}
		got := []string{ev.Time.Format(time.RFC3339), ev.Src.String(), method, url, strconv.Itoa(ev.HTTP.Status), strconv.FormatInt(ev.HTTP.Bytes, 10)}
		want := []string{f[1], wantSrc.String(), f[4], f[5], f[6], f[7]}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("line %d: got %v, want %v", no, got, want)
		}
	}
	if n != 7 {
		t.Errorf("%d rows checked, want 7", n)
	}
	// Elastic's Apache test logs: every line with an IP client parses.
	for _, name := range []string{"test.log", "darwin-2.4.23.log"} {
		path := testkit.Fixture(t, "elastic-beats/filebeat/module/apache/access/test/"+name)
		for i, l := range readLines(t, path) {
			var ev logs.Event
			err := p.Parse(l, &ev)
			if strings.HasPrefix(l, "monitoring-server ") {
				if err == nil {
					t.Errorf("%s:%d: hostname client accepted", name, i+1)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s:%d: %v", name, i+1, err)
			}
		}
	}
}

// TestLnav: lnav's access-log samples, including a vhost-first custom
// format and access lines relayed through syslog.
func TestLnav(t *testing.T) {
	p := parser(t, NameCombined, testOpts)
	for _, name := range []string{"logfile_access_log.0", "logfile_access_log.1", "logfile_regexp_access_log.0", "logfile_bad_access_log.0"} {
		path := testkit.Fixture(t, "lnav/test/"+name)
		for i, l := range readLines(t, path) {
			var ev logs.Event
			if err := p.Parse(l, &ev); err != nil {
				t.Errorf("%s:%d: %v", name, i+1, err)
			}
		}
	}
	// Lines with no timestamp at all are malformed, not guessed.
	path := testkit.Fixture(t, "lnav/test/logfile_syslog_with_access_log.0")
	for _, l := range readLines(t, path) {
		var ev logs.Event
		if err := p.Parse(l, &ev); err == nil {
			t.Errorf("accepted %q", l)
		}
	}
	// Invalid UTF-8 is not a web log, and must not panic.
	path = testkit.Fixture(t, "lnav/test/logfile_invalid_utf8.0")
	for _, l := range readLines(t, path) {
		for _, q := range autoParsers(t) {
			var ev logs.Event
			if err := q.Parse(l, &ev); err == nil {
				t.Errorf("accepted %q", l)
			}
		}
	}
}

// TestLoghubApacheError: an Apache error log parses as apache-error and as
// nothing else.
func TestLoghubApacheError(t *testing.T) {
	path := testkit.Fixture(t, "loghub/Apache/Apache_2k.log")
	lines := readLines(t, path)
	if len(lines) != 2000 {
		t.Fatalf("%d lines", len(lines))
	}
	ae := parser(t, NameApacheError, testOpts)
	others := []logs.Parser{parser(t, NameCombined, testOpts), parser(t, NameCommon, testOpts),
		parser(t, NameVhostCombined, testOpts), parser(t, NameNginxError, testOpts)}
	levels := map[string]int{}
	for i, l := range lines {
		var ev logs.Event
		if err := ae.Parse(l, &ev); err != nil {
			t.Errorf("line %d: %v", i+1, err)
			continue
		}
		levels[ev.HTTP.Level]++
		if ev.Time.Year() != 2005 {
			t.Errorf("line %d: time %v", i+1, ev.Time)
		}
		for _, o := range others {
			if err := o.Parse(l, &ev); err == nil {
				t.Errorf("line %d taken as %s", i+1, ev.Format)
			}
		}
	}
	// grep counts: 595 [error], 1405 [notice]
	if levels["error"] != 595 || levels["notice"] != 1405 {
		t.Errorf("levels %v, want error 595 notice 1405", levels)
	}
}

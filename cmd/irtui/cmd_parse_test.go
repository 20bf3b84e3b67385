package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const combinedLine = `203.0.113.7 - - [10/Oct/2024:13:55:36 -0700] "GET /wp-login.php?x=1 HTTP/1.1" 404 209 "-" "curl/8.5.0"`

func TestParseUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"--help"}, 0, "usage: irtui parse"},
		{nil, 2, "name one or more log files"},
		{[]string{"--format", "nope", "x.log"}, 2, `unknown format "nope"`},
		{[]string{"--format", "custom", "x.log"}, 2, "needs --log-format"},
		{[]string{"-", "-"}, 2, "only once"},
		{[]string{"--bogus"}, 2, "flag provided but not defined"},
		{[]string{"/nonexistent/irtui.log"}, 1, "no such file"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := parseMain(c.args, &out, &errb); code != c.code || !strings.Contains(errb.String(), c.err) {
			t.Errorf("%q: exit %d, want %d; stderr:\n%s", c.args, code, c.code, errb.String())
		}
	}
}

func TestParseCommand(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "access.log")
	if err := os.WriteFile(f, []byte(combinedLine+"\nnot a log line\x1b[2J\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	// Flags after the file work too.
	if code := parseMain([]string{f, "--workers", "2"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), out.String())
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"line": 1.0, "file": f, "format": "combined", "kind": "http", "time": "2024-10-10T20:55:36Z",
		"src": "203.0.113.7", "method": "GET", "path": "/wp-login.php", "query": "x=1", "status": 404.0, "bytes": 209.0, "ua": "curl/8.5.0"}
	for k, v := range want {
		if ev[k] != v {
			t.Errorf("%s = %v, want %v", k, ev[k], v)
		}
	}
	if !strings.HasPrefix(lines[1], `{"line":2,"file":`) || !strings.Contains(lines[1], `"error":`) {
		t.Errorf("malformed line: %s", lines[1])
	}

	out.Reset()
	if code := parseMain([]string{"--summary", f}, &out, &errb); code != 0 {
		t.Fatalf("summary exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "2 lines, 1 events, 1 malformed") || !strings.Contains(out.String(), "http/request") {
		t.Errorf("summary:\n%s", out.String())
	}

	out.Reset()
	if code := parseMain([]string{"--list-formats"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "combined") {
		t.Errorf("list-formats: %d\n%s", code, out.String())
	}
}

func TestParseLogFormat(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "custom.log")
	line := `example.org 203.0.113.9 [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 5` + "\n"
	if err := os.WriteFile(f, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := parseMain([]string{"--log-format", `%v %h %t "%r" %>s %b`, f}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), `"format":"custom"`) || !strings.Contains(out.String(), `"src":"203.0.113.9"`) {
		t.Errorf("exit %d\n%s%s", code, out.String(), errb.String())
	}
}

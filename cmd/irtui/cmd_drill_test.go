package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestDrillList(t *testing.T) {
	var out, errb bytes.Buffer
	if code := drillMain([]string{"list"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []string{"accidental-dos", "relay-abused", "open-resolver", "smtp-auth-bruteforce", "backscatter", "botnet-many-ases"}
	if len(lines) != len(want) {
		t.Fatalf("list:\n%s", out.String())
	}
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] != want[i] {
			t.Errorf("line %d %q: want the name %s first, then the title", i, l, want[i])
		}
	}
	if !strings.HasPrefix(lines[0], "accidental-dos        Accidental DoS") {
		t.Errorf("first line %q", lines[0])
	}
}

func TestDrillUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"--help"}, 0, "irtui drill --replay FILE"},
		{[]string{}, 2, "irtui drill list"},
		{[]string{"list", "extra"}, 2, "takes no arguments"},
		{[]string{"no-such-drill", "--autopilot"}, 2, `no drill scenario "no-such-drill"`},
		{[]string{"accidental-dos", "--speed", "0"}, 2, "--speed must be between"},
		{[]string{"accidental-dos", "backscatter", "--autopilot"}, 2, "one scenario at a time"},
		{[]string{"--replay"}, 2, "name the log files"},
		{[]string{"--replay", "x.log", "--max-gap", "0s"}, 2, "--max-gap must be positive"},
		{[]string{"--replay", "/nonexistent/x.log"}, 1, "cannot read /nonexistent/x.log"},
		{[]string{"accidental-dos"}, 1, "--autopilot"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := drillMain(c.args, &out, &errb); code != c.code || !strings.Contains(errb.String(), c.err) {
			t.Errorf("%q: exit %d, want %d; stderr:\n%s", c.args, code, c.code, errb.String())
		}
	}
}

// TestDrillAutopilotJSON checks the JSON contract: one object with the
// fields CI reads.
func TestDrillAutopilotJSON(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	var out, errb bytes.Buffer
	if code := drillMain([]string{"relay-abused", "--autopilot", "--speed", "25", "--json", "--seed", "4"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Count(strings.TrimSpace(out.String()), "\n") != 0 {
		t.Fatalf("want one line of JSON, got:\n%s", out.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"scenario", "detected_after_s", "blocked_after_s", "attack_stopped", "collateral", "steps_done", "steps_skipped"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %s: %s", k, out.String())
		}
	}
	if m["scenario"] != "relay-abused" || m["attack_stopped"].(float64) < 0.9 {
		t.Errorf("score %s", out.String())
	}
	if entries, _ := os.ReadDir(os.Getenv("TMPDIR")); len(entries) != 0 {
		t.Errorf("the drill left %s behind", entries[0].Name())
	}
}

func TestDrillReplayText(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	var out, errb bytes.Buffer
	code := drillMain([]string{"--replay", "../../testdata/sample-access.log", "--speed", "1000", "--max-gap", "1ms", "--config", ""}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "Replayed 2000 lines of ../../testdata/sample-access.log (combined)") ||
		!strings.Contains(out.String(), "log time: 2015-05-17 10:05:00 to 2015-05-18 03:05:54 UTC") {
		t.Fatalf("output:\n%s", out.String())
	}
}

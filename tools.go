//go:build tools

package main

import (
	_ "charm.land/bubbles/v2/key"
	_ "charm.land/bubbletea/v2"
	_ "charm.land/lipgloss/v2"
	_ "github.com/charmbracelet/x/exp/teatest/v2"
	_ "github.com/gaissmai/bart"
	_ "github.com/miekg/dns"
	_ "github.com/nxadm/tail"
	_ "github.com/oschwald/maxminddb-golang/v2"
	_ "golang.org/x/sys/unix"
	_ "golang.org/x/time/rate"
	_ "gopkg.in/yaml.v3"
)

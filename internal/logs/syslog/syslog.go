// Package syslog reads the headers that syslog daemons and journald put in
// front of a program's message: RFC 3164, RFC 3339, RFC 5424 and
// journalctl's short-iso.
package syslog

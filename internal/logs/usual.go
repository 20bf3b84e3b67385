package logs

import (
	"os"
	"path/filepath"
)

// UsualPaths are the places web, mail and DNS servers log to on common
// distributions, in the order irtui looks at them when given no files.
var UsualPaths = []string{
	"/var/log/nginx/access.log",
	"/var/log/nginx/error.log",
	"/var/log/apache2/access.log",
	"/var/log/apache2/other_vhosts_access.log",
	"/var/log/apache2/error.log",
	"/var/log/httpd/access_log",
	"/var/log/httpd/error_log",
	"/var/log/mail.log",
	"/var/log/maillog",
	"/var/log/exim4/mainlog",
	"/var/log/exim/main.log",
	"/var/log/named/query.log",
	"/var/log/named/queries.log",
	"/var/log/bind/query.log",
	"/var/log/named/security.log",
}

// UsualLogs returns the UsualPaths that exist as regular files (or links to
// them) under root ("/" on a real host).
func UsualLogs(root string) []string {
	var found []string
	for _, p := range UsualPaths {
		full := filepath.Join(root, p)
		if info, err := os.Stat(full); err == nil && info.Mode().IsRegular() {
			found = append(found, full)
		}
	}
	return found
}

package logs

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Sibling is a rotated copy of a log: access.log.1, access.log.2.gz or, with
// logrotate's dateext, access.log-20250101(.gz).
type Sibling struct {
	Path    string
	ModTime time.Time
	Size    int64
}

// RotatedSiblings lists the rotated copies of path, oldest first: dated
// copies by date, then numbered copies from the highest number down to .1,
// the way logrotate shifts them. Files modified before notBefore hold only
// older lines and are left out (zero keeps everything).
func RotatedSiblings(path string, notBefore time.Time) ([]Sibling, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type cand struct {
		Sibling
		num  int    // numbered copies
		date string // dated copies
	}
	var cands []cand
	for _, e := range entries {
		name := e.Name()
		if len(name) <= len(base)+1 || !strings.HasPrefix(name, base) {
			continue
		}
		rest := strings.TrimSuffix(name[len(base)+1:], ".gz")
		sep := name[len(base)]
		c := cand{num: -1}
		switch {
		case sep == '.' && allDigits(rest) && len(rest) <= 6:
			c.num, _ = strconv.Atoi(rest)
		case sep == '-' && allDigits(rest) && len(rest) >= 8 && len(rest) <= 14:
			c.date = rest
		default:
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		if !notBefore.IsZero() && info.ModTime().Before(notBefore) {
			continue
		}
		c.Sibling = Sibling{Path: filepath.Join(dir, name), ModTime: info.ModTime(), Size: info.Size()}
		cands = append(cands, c)
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if (a.num < 0) != (b.num < 0) {
			return a.num < 0 // dated copies come from an older scheme
		}
		if a.num < 0 {
			return a.date < b.date
		}
		if a.num != b.num {
			return a.num > b.num
		}
		return !strings.HasSuffix(a.Path, ".gz") // access.log.1 before a half-written access.log.1.gz
	})
	out := make([]Sibling, len(cands))
	for i, c := range cands {
		out[i] = c.Sibling
	}
	return out, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// OpenLog opens a whole log file for reading, decompressing it when it is
// gzip (recognised by its magic bytes, not its name, so a compressed file
// without .gz still reads). Close the returned closer when done.
func OpenLog(path string) (io.Reader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	r, err := Decompress(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, f, nil
}

// Decompress returns a reader of r's content, gunzipping it when it starts
// with the gzip magic bytes (every member of a concatenated gzip file).
func Decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic, err := br.Peek(2)
	if err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		return br, nil // short or plain: read as is
	}
	return gzip.NewReader(br)
}

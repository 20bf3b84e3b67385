package trace

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
)

const (
	maxRDAPBody  = 1 << 20
	maxRDAPDepth = 4 // entities nest (registrant → abuse contact); deeper is junk
)

type rdapEntity struct {
	Roles      []string        `json:"roles"`
	VcardArray json.RawMessage `json:"vcardArray"`
	Entities   []rdapEntity    `json:"entities"`
}

type rdapIP struct {
	Entities []rdapEntity `json:"entities"`
}

// rdapAbuse asks RDAP for the e-mail addresses of the entities with the
// "abuse" role of the network holding ip.
func (t *Tracer) rdapAbuse(ctx context.Context, ip netip.Addr) ([]string, error) {
	if err := t.rdapLim.Wait(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout*2)
	defer cancel()
	url := strings.TrimRight(t.cfg.RDAPBase, "/") + "/ip/" + ip.String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/rdap+json")
	resp, err := t.httpc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("RDAP server answered %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRDAPBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxRDAPBody {
		return nil, fmt.Errorf("RDAP answer larger than %d bytes", maxRDAPBody)
	}
	return ParseRDAPAbuse(body)
}

// ParseRDAPAbuse returns the e-mail addresses of the "abuse" entities of
// an RDAP IP network object.
func ParseRDAPAbuse(body []byte) ([]string, error) {
	var doc rdapIP
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("malformed RDAP answer: %w", err)
	}
	var out []string
	var walk func(es []rdapEntity, depth int)
	walk = func(es []rdapEntity, depth int) {
		if depth > maxRDAPDepth {
			return
		}
		for _, e := range es {
			if containsFold(e.Roles, "abuse") {
				for _, m := range vcardEmails(e.VcardArray) {
					if len(out) < maxAbuse && !containsString(out, m) {
						out = append(out, m)
					}
				}
			}
			walk(e.Entities, depth+1)
		}
	}
	walk(doc.Entities, 0)
	return out, nil
}

func containsFold(l []string, s string) bool {
	for _, v := range l {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// vcardEmails reads jCard ["vcard", [["email", {}, "text", "a@b"], ...]].
func vcardEmails(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var card []json.RawMessage
	if json.Unmarshal(raw, &card) != nil || len(card) < 2 {
		return nil
	}
	var props [][]json.RawMessage
	if json.Unmarshal(card[1], &props) != nil {
		return nil
	}
	var out []string
	for _, p := range props {
		if len(p) < 4 {
			continue
		}
		var name, value string
		if json.Unmarshal(p[0], &name) != nil || !strings.EqualFold(name, "email") {
			continue
		}
		if json.Unmarshal(p[3], &value) != nil {
			continue
		}
		value = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(value, "mailto:")))
		if plausibleEmail(value) {
			out = append(out, value)
		}
	}
	return out
}

package crowdsec

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/irtui/irtui/internal/block/crowdsec/lapitest"
)

func client(t testing.TB, credPath string, hc *http.Client) *Client {
	t.Helper()
	creds, err := ReadCredentials(credPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(creds, hc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func startLAPI(t testing.TB) *lapitest.LAPI {
	t.Helper()
	return lapitest.Start(t, "127.0.0.1:"+itoa(lapitest.FreePort(t)), "", nil)
}

func itoa(n int) string { return strconv.Itoa(n) }

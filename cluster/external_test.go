package cluster

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"
)

func TestExternalClusterByURL(t *testing.T) {
	tc := newTestCluster(t, 1)
	tc.startAll()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A second node without a server of its own connects to the first
	// node's server as to an external NATS, credentials in the URL.
	u := url.URL{
		Scheme: "nats",
		User:   url.UserPassword(clientUser, derive(tc.secret, "client")),
		Host:   fmt.Sprintf("127.0.0.1:%d", tc.ports[1]),
	}
	ext, err := Start(ctx, Config{NodeID: "ext", ExternalURL: u.String(), Replicas: 1, SchemaVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Close()
	if ext.Server() != nil || ext.RouteAddr() != "" {
		t.Fatal("external node started a server")
	}
	if _, err := ext.Log().Append(ctx, []byte("from outside")); err != nil {
		t.Fatal(err)
	}
	_, data := readN(t, tc.node(0), 1, 1)
	if data[0] != "from outside" {
		t.Fatalf("read %q", data[0])
	}
	// A wrong password is refused.
	u.User = url.UserPassword(clientUser, "wrong")
	if nd, err := Start(ctx, Config{NodeID: "bad", ExternalURL: u.String(), Replicas: 1}); err == nil {
		nd.Close()
		t.Fatal("connected with a wrong password")
	}
}

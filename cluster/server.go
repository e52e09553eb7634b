package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

const (
	routeUser  = "onecall-route"
	clientUser = "onecall"
	systemUser = "onecall-system"
)

// derive turns the cluster secret into the credential for one purpose, so
// the secret itself never travels and route and client passwords differ.
func derive(secret, purpose string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("onecall cluster " + purpose))
	return hex.EncodeToString(m.Sum(nil))
}

// startEmbedded starts this node's NATS server: JetStream on file storage
// under DataDir/nats, routes to the peers, routes and clients authenticated
// by credentials derived from the secret.
func startEmbedded(cfg Config, lg *natsLogger) (*server.Server, error) {
	routePass := derive(cfg.Secret, "route")
	opts := &server.Options{
		ServerName: cfg.NodeID,
		Host:       cfg.Host,
		Port:       cfg.ClientPort,
		JetStream:  true,
		StoreDir:   filepath.Join(cfg.DataDir, "nats"),
		NoSigs:     true,
	}
	// onecall's client user is in the global account ($G: the streams and
	// buckets); the system user, in the system account, may ask JetStream
	// to move its meta leadership (KeepRaftLeadersOff).
	sys := server.NewAccount(server.DEFAULT_SYSTEM_ACCOUNT)
	opts.Accounts = []*server.Account{sys}
	opts.SystemAccount = sys.Name
	opts.Users = []*server.User{
		{Username: clientUser, Password: derive(cfg.Secret, "client")},
		{Username: systemUser, Password: derive(cfg.Secret, "system"), Account: sys},
	}
	if len(cfg.Routes) > 0 {
		port := cfg.RoutePort
		if port == 0 {
			port = server.RANDOM_PORT
		}
		opts.Cluster = server.ClusterOpts{
			Name:     cfg.ClusterName,
			Host:     cfg.Host,
			Port:     port,
			Username: routeUser,
			Password: routePass,
		}
		for _, r := range cfg.Routes {
			u, err := url.Parse("nats-route://" + r)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("cluster: route %q: want host:port", r)
			}
			u.User = url.UserPassword(routeUser, routePass)
			opts.Routes = append(opts.Routes, u)
		}
	}
	if opts.Port == 0 {
		// The route listener waits for the client listener, so there is
		// always one; port 0 picks a free one.
		opts.Port = server.RANDOM_PORT
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: nats server: %w", err)
	}
	s.SetLoggerV2(lg, false, false, false)
	s.Start()
	if !s.ReadyForConnections(10*time.Second) || lg.fatal.Load() != nil {
		s.Shutdown()
		return nil, fmt.Errorf("cluster: nats server %s did not start", cfg.NodeID)
	}
	return s, nil
}

// natsLogger adapts the server's logger to slog and spots route
// authorization failures, which mean a cluster secret mismatch.
type natsLogger struct {
	log *slog.Logger
	// refused is set when a peer refused our route (our secret is wrong).
	refused atomic.Bool
	// fatal holds the first fatal server error (a port in use, say).
	fatal atomic.Pointer[string]
	// rejected counts routes or clients we refused (their secret is wrong).
	rejected atomic.Int64
}

func (l *natsLogger) Noticef(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.Contains(msg, "leader") {
		// A Raft group's leader changed (the metadata, the log stream, a
		// bucket, a consumer): what an operator reads a failover by.
		l.log.Info("nats: " + msg)
		return
	}
	l.log.Debug("nats: " + msg)
}

func (l *natsLogger) Warnf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.HasPrefix(msg, "Plaintext passwords detected") {
		// The passwords are derived from the secret and live only in memory.
		l.log.Debug("nats: " + msg)
		return
	}
	l.log.Warn("nats: " + msg)
}

func (l *natsLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.fatal.CompareAndSwap(nil, &msg)
	l.log.Error("nats: fatal: " + msg)
}

func (l *natsLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	switch {
	case strings.Contains(msg, "Authorization Violation") && strings.Contains(msg, "rid:"):
		if !l.refused.Swap(true) {
			l.log.Error("cluster: a peer refused this node's route: wrong cluster secret", "detail", msg)
		}
		return
	case strings.Contains(msg, "authentication error"):
		l.rejected.Add(1)
		l.log.Error("cluster: refused a route or client with wrong credentials (wrong cluster secret)", "detail", msg)
		return
	}
	l.log.Error("nats: " + msg)
}

func (l *natsLogger) Debugf(format string, v ...any) {}

func (l *natsLogger) Tracef(format string, v ...any) {}

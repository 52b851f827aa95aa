package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fabmarket/fabmarket/internal/netconf"
)

// config is everything the gateway needs. Each field is set, from lowest to highest
// precedence, by the defaults derived from network.conf and the run directory, a JSON file
// (--config), the environment (GATEWAY_<FLAG NAME>, e.g. GATEWAY_LISTEN) and flags.
type config struct {
	Org            string        `json:"org"`
	NetworkConf    string        `json:"networkConf"`
	RunDir         string        `json:"runDir"`
	Listen         string        `json:"listen"`
	PeerEndpoint   string        `json:"peerEndpoint"`
	PeerServerName string        `json:"peerServerName"`
	TLSCA          string        `json:"tlsCa"`
	MSPID          string        `json:"mspId"`
	Cert           string        `json:"cert"`
	Key            string        `json:"key"`
	APIKeys        string        `json:"apiKeys"`
	DataDir        string        `json:"dataDir"`
	Channel        string        `json:"channel"`
	Chaincode      string        `json:"chaincode"`
	MatchInterval  time.Duration `json:"matchInterval"`
	CommitTimeout  time.Duration `json:"commitTimeout"`
	RequestTimeout time.Duration `json:"requestTimeout"`
	MaxBody        int64         `json:"maxBody"`
	LogLevel       string        `json:"logLevel"`
	WatcherURL     string        `json:"watcherUrl"`
	HTTPSCert      string        `json:"httpsCert"`
	HTTPSKey       string        `json:"httpsKey"`
}

// fileConfig is the JSON file's shape: durations as Go duration strings ("1s").
type fileConfig struct {
	config
	MatchInterval  string `json:"matchInterval"`
	CommitTimeout  string `json:"commitTimeout"`
	RequestTimeout string `json:"requestTimeout"`
}

// loadConfig parses args with env (os.LookupEnv-like) and fills the defaults.
func loadConfig(args []string, env func(string) (string, bool)) (*config, error) {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	var c config
	file := fs.String("config", "", "JSON configuration file (env GATEWAY_CONFIG)")
	fs.StringVar(&c.Org, "org", "", "org of this gateway: org1, org2, org3 or regulator (required)")
	fs.StringVar(&c.NetworkConf, "network-conf", "", "network/network.conf (default: found above the working directory)")
	fs.StringVar(&c.RunDir, "run-dir", "", "generated network state (default: network/run beside network.conf)")
	fs.StringVar(&c.Listen, "listen", "", "listen address (default <ORG>_GATEWAY_HOST:<ORG>_GATEWAY_PORT of network.conf)")
	fs.StringVar(&c.PeerEndpoint, "peer-endpoint", "", "host:port of the org's peer (default from network.conf)")
	fs.StringVar(&c.PeerServerName, "peer-server-name", "", "TLS server name of the peer (default peer0.<org>.example.com)")
	fs.StringVar(&c.TLSCA, "tls-ca", "", "PEM of the peer's TLS CA (default from the run directory)")
	fs.StringVar(&c.MSPID, "msp-id", "", "MSP ID of the identity (default from the org)")
	fs.StringVar(&c.Cert, "cert", "", "PEM certificate of the identity (default the org's User1)")
	fs.StringVar(&c.Key, "key", "", "PEM private key of the identity (default the org's User1)")
	fs.StringVar(&c.APIKeys, "api-keys", "", "JSON file org → API key (default <run-dir>/apikeys.json)")
	fs.StringVar(&c.DataDir, "data-dir", "", "directory of the idempotency store (default <run-dir>/data/gateway.<org>)")
	fs.StringVar(&c.Channel, "channel", "", "channel of the exchange (default market)")
	fs.StringVar(&c.Chaincode, "chaincode", "", "exchange chaincode name (default exchange)")
	fs.DurationVar(&c.MatchInterval, "match-interval", 0, "match scheduler tick; negative disables it (default 1s)")
	fs.DurationVar(&c.CommitTimeout, "commit-timeout", 0, "bound of ?wait=commit (default 30s)")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", 0, "bound of other requests (default 15s)")
	fs.Int64Var(&c.MaxBody, "max-body", 0, "largest request body in bytes (default 65536)")
	fs.StringVar(&c.LogLevel, "log-level", "", "debug, info, warn or error (default info)")
	fs.StringVar(&c.WatcherURL, "watcher-url", "", "price watcher behind /watcher/ for the web console (default http://WATCHER_HOST:WATCHER_PORT of network.conf)")
	fs.StringVar(&c.HTTPSCert, "https-cert", "", "PEM certificate chain to serve HTTPS instead of HTTP (with --https-key)")
	fs.StringVar(&c.HTTPSKey, "https-key", "", "PEM private key of --https-cert")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	// Start from the file, overlay the environment, then the flags that were given.
	var out config
	if *file == "" {
		*file, _ = env("GATEWAY_CONFIG")
	}
	if *file != "" {
		raw, err := os.ReadFile(*file)
		if err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		var fc fileConfig
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&fc); err != nil {
			return nil, fmt.Errorf("config file %s: %w", *file, err)
		}
		out = fc.config
		for _, d := range []struct {
			s   string
			dst *time.Duration
		}{{fc.MatchInterval, &out.MatchInterval}, {fc.CommitTimeout, &out.CommitTimeout}, {fc.RequestTimeout, &out.RequestTimeout}} {
			if d.s != "" {
				v, err := time.ParseDuration(d.s)
				if err != nil {
					return nil, fmt.Errorf("config file %s: %w", *file, err)
				}
				*d.dst = v
			}
		}
	}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" {
			return
		}
		name := "GATEWAY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, fromEnv := env(name)
		if set[f.Name] {
			v, fromEnv = f.Value.String(), true
		}
		if !fromEnv {
			return
		}
		if err := assign(&out, f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &out, out.fill()
}

// assign sets the field of flag name from its string value.
func assign(c *config, name, v string) error {
	dur := func(dst *time.Duration) error {
		d, err := time.ParseDuration(v)
		if err == nil {
			*dst = d
		}
		return err
	}
	switch name {
	case "org":
		c.Org = v
	case "network-conf":
		c.NetworkConf = v
	case "run-dir":
		c.RunDir = v
	case "listen":
		c.Listen = v
	case "peer-endpoint":
		c.PeerEndpoint = v
	case "peer-server-name":
		c.PeerServerName = v
	case "tls-ca":
		c.TLSCA = v
	case "msp-id":
		c.MSPID = v
	case "cert":
		c.Cert = v
	case "key":
		c.Key = v
	case "api-keys":
		c.APIKeys = v
	case "data-dir":
		c.DataDir = v
	case "channel":
		c.Channel = v
	case "chaincode":
		c.Chaincode = v
	case "match-interval":
		return dur(&c.MatchInterval)
	case "commit-timeout":
		return dur(&c.CommitTimeout)
	case "request-timeout":
		return dur(&c.RequestTimeout)
	case "max-body":
		_, err := fmt.Sscan(v, &c.MaxBody)
		return err
	case "log-level":
		c.LogLevel = v
	case "watcher-url":
		c.WatcherURL = v
	case "https-cert":
		c.HTTPSCert = v
	case "https-key":
		c.HTTPSKey = v
	}
	return nil
}

// fill completes the defaults from network.conf and checks the result.
func (c *config) fill() error {
	if _, err := netconf.MSPID(c.Org); err != nil {
		return fmt.Errorf("--org: %w", err)
	}
	var nc *netconf.Config
	var err error
	switch {
	case c.NetworkConf != "":
		run := c.RunDir
		if run == "" {
			run = filepath.Join(filepath.Dir(c.NetworkConf), "run")
		}
		nc, err = netconf.Load(c.NetworkConf, run)
	default:
		nc, err = netconf.LoadRepo(".")
	}
	if err != nil {
		return err
	}
	if c.RunDir == "" {
		c.RunDir = nc.RunDir()
	}
	if c.Listen == "" {
		if c.Listen, err = nc.Addr(strings.ToUpper(c.Org) + "_GATEWAY"); err != nil {
			return err
		}
	}
	p, err := nc.Peer(c.Org)
	if err != nil {
		return err
	}
	id, err := nc.User(c.Org, "User1")
	if err != nil {
		return err
	}
	def := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	def(&c.PeerEndpoint, p.Endpoint)
	def(&c.PeerServerName, p.ServerName)
	def(&c.TLSCA, p.TLSCAPath)
	def(&c.MSPID, id.MSPID)
	def(&c.Cert, id.CertPath)
	def(&c.Key, id.KeyPath)
	def(&c.APIKeys, filepath.Join(c.RunDir, "apikeys.json"))
	def(&c.DataDir, filepath.Join(c.RunDir, "data", "gateway."+c.Org))
	def(&c.Channel, "market")
	def(&c.Chaincode, "exchange")
	def(&c.LogLevel, "info")
	if c.WatcherURL == "" {
		c.WatcherURL = "http://127.0.0.1:8090"
		if addr, err := nc.Addr("WATCHER"); err == nil {
			c.WatcherURL = "http://" + addr
		}
	}
	if c.MatchInterval == 0 {
		c.MatchInterval = time.Second
	}
	if c.CommitTimeout <= 0 {
		c.CommitTimeout = 30 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 15 * time.Second
	}
	if c.MaxBody <= 0 {
		c.MaxBody = 64 << 10
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level: %q is not debug, info, warn or error", c.LogLevel)
	}
	if (c.HTTPSCert == "") != (c.HTTPSKey == "") {
		return errors.New("--https-cert and --https-key go together: give both or neither")
	}
	return nil
}

// scheme is the URL scheme the gateway serves: https with a certificate, else http.
func (c *config) scheme() string {
	if c.HTTPSCert != "" {
		return "https"
	}
	return "http"
}

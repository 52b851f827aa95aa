// Command chaos is the proof under load and faults of issue 8 (scripts/chaos.sh): REST clients
// spread over the org1..org3 gateways (and the Regulator's for instruments and number
// allocations) place and cancel orders, deposit and withdraw, run DvP escrow settlements and
// number transfers, retrying each request as a real client would (the same request, with its
// clientOrderId or Idempotency-Key, after a 5xx, a timeout, a refused connection or a 202
// "pending", until it is answered), while a fault driver SIGKILLs and restarts, one at a time
// with pauses, an orderer, a telco's peer, the chaincode processes, a gateway and the watcher
// (through scripts/network.sh kill/start, so FABMARKET_CONF and FABMARKET_RUN select the
// network).
//
// Afterwards it checks from the ledger: every order seen accepted is listed exactly once with a
// final or resting status, and no clientOrderId twice; deposits and withdrawals seen accepted
// are on the ledger once; every agreement is settled, expired or cancelled (open ones are
// expired after their short deadline); every number has the owner its confirmed transfers gave
// it and exactly as many completed transfers; and the Regulator's AuditLedger (exchange
// chaincode, evaluated through fabric-gateway on market and payments) finds conservation per
// asset and per account, every trade applied once to its orders and balances, and no escrow
// left over. It prints a summary table and exits 1 when anything was lost, duplicated or does
// not balance.
//
// With -audit it only runs the Regulator's audit and prints it (scripts/audit.sh).
package main

import (
	"flag"
	"log"
	"os"
	"time"

	"github.com/fabmarket/fabmarket/internal/netconf"
)

var orgs = []string{"org1", "org2", "org3"}

var mspOf = map[string]string{"org1": "Org1MSP", "org2": "Org2MSP", "org3": "Org3MSP", "regulator": "RegulatorMSP"}

type options struct {
	duration, drain time.Duration
	clients         int
	short           bool
	maxOps          int
	settlers        int
	porters         int
	faults          string
	deadline        time.Duration
	seed            uint64
	jsonOut         bool
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 4*time.Minute, "load phase (faults run during it); the checks follow")
	flag.DurationVar(&o.drain, "drain", 2*time.Minute, "bound on finishing requests in flight after the load phase")
	flag.IntVar(&o.clients, "clients", 32, "REST clients (orders, settlements and number transfers)")
	flag.BoolVar(&o.short, "short", false, "short run for scripts/test.sh: -duration 100s and three faults")
	flag.IntVar(&o.maxOps, "count", 20000, "bound on operations in the load phase")
	flag.IntVar(&o.settlers, "settlers", 0, "clients running settlements (default clients/8)")
	flag.IntVar(&o.porters, "porters", 0, "clients running number transfers (default clients/8)")
	flag.StringVar(&o.faults, "faults", "", "comma-separated nodes to kill in turn (default: by mode; \"none\" for no faults; orderer-leader = the market channel's Raft leader)")
	flag.DurationVar(&o.deadline, "deadline", 40*time.Second, "deadline of the escrow agreements (those left open are expired after it)")
	flag.Uint64Var(&o.seed, "seed", 0, "random seed (default: the clock)")
	flag.BoolVar(&o.jsonOut, "json", false, "print the summary as JSON as well")
	auditOnly := flag.Bool("audit", false, "only run the Regulator's ledger audit and print it")
	detail := flag.String("account-prefix", "", "with -audit: also print the figures of the accounts whose id starts with this")
	flag.Parse()
	log.SetFlags(log.Ltime)
	cfg, err := netconf.LoadRepo(".")
	if err != nil {
		log.Fatal(err)
	}
	if *auditOnly {
		os.Exit(runAudit(cfg, *detail))
	}
	if o.short && !flagSet("duration") {
		o.duration = 100 * time.Second
	}
	if o.settlers == 0 {
		o.settlers = max(1, o.clients/8)
	}
	if o.porters == 0 {
		o.porters = max(1, o.clients/8)
	}
	if o.clients < 2+o.settlers+o.porters {
		log.Fatalf("-clients %d: need at least 2 order clients besides %d settlers and %d porters", o.clients, o.settlers, o.porters)
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	r, err := newRun(cfg, o)
	if err != nil {
		log.Fatal(err)
	}
	os.Exit(r.main())
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// ---- REST client with retries

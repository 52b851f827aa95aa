package feed

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"google.golang.org/grpc"

	"github.com/fabmarket/fabmarket/internal/fabnet"
	"github.com/fabmarket/fabmarket/internal/netconf"
)

// fabricSource reads chaincode events through fabric-gateway.
type fabricSource struct {
	gw        *client.Gateway
	conn      *grpc.ClientConn
	network   *client.Network
	contract  *client.Contract
	chaincode string
}

func dialFabric(cfg Config) (*fabricSource, error) {
	nc, err := netconf.Load(cfg.NetworkConf, cfg.RunDir)
	if err != nil {
		return nil, err
	}
	org, user := cfg.Org, cfg.User
	if org == "" {
		org = "org1"
	}
	if user == "" {
		user = "User1"
	}
	gw, conn, err := fabnet.ConnectOrg(nc, org, user)
	if err != nil {
		return nil, fmt.Errorf("connect %s as %s: %w", org, user, err)
	}
	network := gw.GetNetwork(cfg.Channel)
	return &fabricSource{gw: gw, conn: conn, network: network, contract: network.GetContract(cfg.Chaincode), chaincode: cfg.Chaincode}, nil
}

// Events implements Source with Network.ChaincodeEvents, resuming after cp.
func (s *fabricSource) Events(ctx context.Context, cp *Checkpoint) (<-chan Event, error) {
	opt := client.WithStartBlock(0)
	if cp != nil {
		opt = client.WithCheckpoint(*cp)
	}
	in, err := s.network.ChaincodeEvents(ctx, s.chaincode, opt)
	if err != nil {
		return nil, err
	}
	out := make(chan Event)
	go func() {
		defer close(out)
		for e := range in {
			select {
			case out <- Event{BlockNumber: e.BlockNumber, TransactionID: e.TransactionID, EventName: e.EventName, Payload: e.Payload}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// Instruments implements Source with the chaincode's exchange:ListInstruments.
func (s *fabricSource) Instruments(ctx context.Context) (map[string]string, error) {
	raw, err := s.contract.EvaluateWithContext(ctx, "exchange:ListInstruments")
	if err != nil {
		return nil, fmt.Errorf("%s", fabnet.Describe(err))
	}
	var list []instrumentEvent
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("ListInstruments: %w", err)
	}
	out := make(map[string]string, len(list))
	for _, i := range list {
		out[i.Symbol] = i.TickSize
	}
	return out, nil
}

// Close releases the gateway and its connection.
func (s *fabricSource) Close() {
	s.gw.Close()
	s.conn.Close()
}

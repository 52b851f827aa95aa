package fabric

import (
	"context"
	"errors"

	"github.com/fabmarket/fabmarket/gateway/api"
	"github.com/fabmarket/fabmarket/gateway/stream"
	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
)

// Blocks implements stream.Source: every block from `from` (nil: the next block to commit),
// with the events of the exchange chaincode emitted by its valid transactions, in order. The
// channel closes when ctx ends or the peer's event stream fails.
func (c *Client) Blocks(ctx context.Context, from *uint64) (<-chan stream.Block, error) {
	var opts []client.BlockEventsOption
	if from != nil {
		opts = append(opts, client.WithStartBlock(*from))
	}
	blocks, err := c.network.BlockEvents(ctx, opts...)
	if err != nil {
		return nil, classify(err)
	}
	out := make(chan stream.Block)
	go func() {
		defer close(out)
		for b := range blocks {
			sb := ParseBlock(b, c.chaincode)
			select {
			case out <- sb:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// ParseBlock extracts the chaincode events of chaincode from the valid endorser transactions of
// a block. Malformed parts are skipped.
func ParseBlock(b *common.Block, chaincode string) stream.Block {
	sb := stream.Block{Number: b.GetHeader().GetNumber()}
	var filter []byte
	if md := b.GetMetadata().GetMetadata(); len(md) > int(common.BlockMetadataIndex_TRANSACTIONS_FILTER) {
		filter = md[common.BlockMetadataIndex_TRANSACTIONS_FILTER]
	}
	for i, envBytes := range b.GetData().GetData() {
		if i < len(filter) && peer.TxValidationCode(filter[i]) != peer.TxValidationCode_VALID {
			continue
		}
		ev, txID := chaincodeEvent(envBytes)
		if ev == nil || ev.GetChaincodeId() != chaincode || ev.GetEventName() == "" {
			continue
		}
		sb.Events = append(sb.Events, stream.Event{TxID: txID, Name: ev.GetEventName(), Payload: ev.GetPayload()})
	}
	return sb
}

func chaincodeEvent(envBytes []byte) (*peer.ChaincodeEvent, string) {
	var env common.Envelope
	if proto.Unmarshal(envBytes, &env) != nil {
		return nil, ""
	}
	var pl common.Payload
	if proto.Unmarshal(env.GetPayload(), &pl) != nil {
		return nil, ""
	}
	var ch common.ChannelHeader
	if proto.Unmarshal(pl.GetHeader().GetChannelHeader(), &ch) != nil || ch.GetType() != int32(common.HeaderType_ENDORSER_TRANSACTION) {
		return nil, ""
	}
	var tx peer.Transaction
	if proto.Unmarshal(pl.GetData(), &tx) != nil || len(tx.GetActions()) == 0 {
		return nil, ""
	}
	var cap peer.ChaincodeActionPayload
	if proto.Unmarshal(tx.GetActions()[0].GetPayload(), &cap) != nil {
		return nil, ""
	}
	var prp peer.ProposalResponsePayload
	if proto.Unmarshal(cap.GetAction().GetProposalResponsePayload(), &prp) != nil {
		return nil, ""
	}
	var ca peer.ChaincodeAction
	if proto.Unmarshal(prp.GetExtension(), &ca) != nil {
		return nil, ""
	}
	var ev peer.ChaincodeEvent
	if proto.Unmarshal(ca.GetEvents(), &ev) != nil {
		return nil, ""
	}
	return &ev, ch.GetTxId()
}

// AccountOwner implements stream.OwnerFunc: the MSP ID of the org that owns account, read with
// this gateway's identity. The chaincode lets an org read only its own accounts (the Regulator
// reads all), so another org's account answers FORBIDDEN: its owner is reported as "" (not
// ours). An unknown account is reported the same way; other errors are returned.
func (c *Client) AccountOwner(ctx context.Context, account string) (string, error) {
	var a struct {
		Org string `json:"org"`
	}
	err := c.evaluateJSON(ctx, &a, "GetAccount", account)
	if err != nil {
		var ae *api.Error
		if errors.As(err, &ae) && (ae.Code == api.CodeForbidden || ae.Code == api.CodeNotFound) {
			return "", nil
		}
		return "", err
	}
	return a.Org, nil
}

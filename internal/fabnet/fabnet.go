// Package fabnet connects Go programs to the Fabric network through the peer's gateway
// service (fabric-gateway over gRPC with TLS), and submits transactions so that an accepted
// request is never lost: when a commit status does not arrive in time, the same signed
// transaction (same transaction id, so it can never apply twice) is sent to the orderers again.
package fabnet

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/fabmarket/fabmarket/internal/netconf"
	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/hash"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Dial opens a gRPC connection with TLS to a peer. The connection is lazy: errors to reach the
// peer surface on the first call.
func Dial(p netconf.Peer) (*grpc.ClientConn, error) {
	pem, err := os.ReadFile(p.TLSCAPath)
	if err != nil {
		return nil, fmt.Errorf("fabnet: read TLS CA of %s: %w", p.Endpoint, err)
	}
	ca, err := identity.CertificateFromPEM(pem)
	if err != nil {
		return nil, fmt.Errorf("fabnet: parse TLS CA of %s: %w", p.Endpoint, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	conn, err := grpc.NewClient("dns:///"+p.Endpoint,
		grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, p.ServerName)))
	if err != nil {
		return nil, fmt.Errorf("fabnet: dial %s: %w", p.Endpoint, err)
	}
	return conn, nil
}

// LoadIdentity reads an X.509 identity and its signing key.
func LoadIdentity(id netconf.Identity) (*identity.X509Identity, identity.Sign, error) {
	certPEM, err := os.ReadFile(id.CertPath)
	if err != nil {
		return nil, nil, fmt.Errorf("fabnet: read certificate: %w", err)
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("fabnet: parse certificate %s: %w", id.CertPath, err)
	}
	x509id, err := identity.NewX509Identity(id.MSPID, cert)
	if err != nil {
		return nil, nil, fmt.Errorf("fabnet: identity: %w", err)
	}
	keyPEM, err := os.ReadFile(id.KeyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("fabnet: read private key: %w", err)
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("fabnet: parse private key %s: %w", id.KeyPath, err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, nil, fmt.Errorf("fabnet: signer: %w", err)
	}
	return x509id, sign, nil
}

// Connect opens a fabric-gateway connection for id over conn, with short timeouts suited to a
// service that retries by itself. Extra options override the defaults.
func Connect(conn grpc.ClientConnInterface, id netconf.Identity, opts ...client.ConnectOption) (*client.Gateway, error) {
	x509id, sign, err := LoadIdentity(id)
	if err != nil {
		return nil, err
	}
	all := append([]client.ConnectOption{
		client.WithSign(sign),
		client.WithHash(hash.SHA256),
		client.WithClientConnection(conn),
		client.WithEvaluateTimeout(10 * time.Second),
		client.WithEndorseTimeout(20 * time.Second),
		client.WithSubmitTimeout(10 * time.Second),
		client.WithCommitStatusTimeout(time.Minute),
	}, opts...)
	gw, err := client.Connect(x509id, all...)
	if err != nil {
		return nil, fmt.Errorf("fabnet: connect: %w", err)
	}
	return gw, nil
}

// ConnectOrg dials org's peer and connects as the given user ("User1" or "Admin"). Close the
// returned gateway and then the connection.
func ConnectOrg(cfg *netconf.Config, org, user string, opts ...client.ConnectOption) (*client.Gateway, *grpc.ClientConn, error) {
	p, err := cfg.Peer(org)
	if err != nil {
		return nil, nil, err
	}
	id, err := cfg.User(org, user)
	if err != nil {
		return nil, nil, err
	}
	conn, err := Dial(p)
	if err != nil {
		return nil, nil, err
	}
	gw, err := Connect(conn, id, opts...)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return gw, conn, nil
}

// Outcome is what a committed transaction produced.
type Outcome struct {
	TxID      string
	Result    []byte                // the chaincode's response payload
	Code      peer.TxValidationCode // VALID, or why the transaction was invalidated
	Block     uint64                // block number it was committed in
	Resubmits int                   // how often the same signed transaction was sent again
}

// InvalidError reports a transaction that committed but was marked invalid.
type InvalidError struct {
	TxID string
	Code peer.TxValidationCode
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("transaction %s was committed invalid: %s", e.TxID, e.Code)
}

// Submitter submits transactions and waits for their commit, resending the same signed
// transaction when its commit status is late. The zero value is usable with the defaults.
type Submitter struct {
	// CommitWait is how long to wait for a commit status before sending the transaction again
	// (default 5 s: a new Raft leader is elected in 6-10 s after a leader crash, and the
	// transactions it had accepted but not ordered are lost and must be sent again).
	CommitWait time.Duration
	// MaxResubmits bounds how often one transaction is sent again (default 12).
	MaxResubmits int
}

func (s *Submitter) commitWait() time.Duration {
	if s.CommitWait > 0 {
		return s.CommitWait
	}
	return 5 * time.Second
}

func (s *Submitter) maxResubmits() int {
	if s.MaxResubmits > 0 {
		return s.MaxResubmits
	}
	return 12
}

// Submit endorses txName on contract, sends it to ordering and waits until it is committed.
// It returns the outcome of a VALID transaction; an *InvalidError when the transaction was
// committed invalid (for example MVCC_READ_CONFLICT or ENDORSEMENT_POLICY_FAILURE); or the
// fabric-gateway error (*client.EndorseError, *client.SubmitError, *client.CommitStatusError)
// when it could not get that far. ctx bounds the whole call.
func (s *Submitter) Submit(ctx context.Context, contract *client.Contract, txName string, opts ...client.ProposalOption) (*Outcome, error) {
	proposal, err := contract.NewProposal(txName, opts...)
	if err != nil {
		return nil, err
	}
	tx, err := proposal.EndorseWithContext(ctx)
	if err != nil {
		return nil, err
	}
	return s.Commit(ctx, tx)
}

// Commit sends an endorsed transaction to ordering and waits for its commit, resending the same
// transaction when the status is late or the orderer refused it for the moment.
func (s *Submitter) Commit(ctx context.Context, tx *client.Transaction) (*Outcome, error) {
	return s.CommitNotify(ctx, tx, nil)
}

// CommitNotify is Commit that also calls accepted (when not nil) once, as soon as the orderer
// has accepted the transaction for the first time: a service can answer "accepted, pending"
// at that point and keep waiting for the commit status.
func (s *Submitter) CommitNotify(ctx context.Context, tx *client.Transaction, accepted func()) (*Outcome, error) {
	out := &Outcome{TxID: tx.TransactionID(), Result: tx.Result()}
	var lastErr error
	for attempt := 0; attempt <= s.maxResubmits(); attempt++ {
		if attempt > 0 {
			out.Resubmits++
		}
		if err := ctx.Err(); err != nil {
			return out, errors.Join(err, lastErr)
		}
		commit, err := tx.SubmitWithContext(ctx)
		if err != nil {
			// The orderer did not take it (leader election under way, node down): try again.
			lastErr = err
			if !Sleep(ctx, time.Second) {
				return out, errors.Join(ctx.Err(), lastErr)
			}
			continue
		}
		if accepted != nil {
			accepted()
			accepted = nil
		}
		wctx, cancel := context.WithTimeout(ctx, s.commitWait())
		status, err := commit.StatusWithContext(wctx)
		cancel()
		if err != nil {
			lastErr = err
			continue
		}
		out.Code = status.Code
		out.Block = status.BlockNumber
		if !status.Successful {
			return out, &InvalidError{TxID: out.TxID, Code: status.Code}
		}
		return out, nil
	}
	return out, fmt.Errorf("fabnet: transaction %s not committed after %d submissions: %w", out.TxID, s.maxResubmits()+1, lastErr)
}

// Sleep waits d, or less when ctx ends first; it reports whether the whole d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

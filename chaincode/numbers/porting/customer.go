package porting

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// Limits of the customer data in the transient map.
const (
	// MaxCustomerBytes bounds the customer JSON object.
	MaxCustomerBytes = 16 * 1024
	// MinSaltBytes and MaxSaltBytes bound the client's salt.
	MinSaltBytes = 16
	MaxSaltBytes = 64
)

// CustomerRecord is the private record stored in the pair collection of a transfer. Its exact
// bytes are hashed (SHA-256) into [Transfer.CustomerDataHash]; that is also the hash Fabric
// keeps on chain for the private write, so a peer can compare it with GetPrivateDataHash.
// The salt is secret (it lives only here), so the on-chain hash cannot be confirmed by
// guessing a name and a date of birth.
type CustomerRecord struct {
	// Number is the E.164 number being ported.
	Number string `json:"number"`
	// TransferID is the transfer (request transaction ID).
	TransferID string `json:"transferId"`
	// ContractHash is the hex SHA-256 of the customer's contract document.
	ContractHash string `json:"contractHash"`
	// Salt is the client's random salt, hex.
	Salt string `json:"salt"`
	// Customer is the customer data as the client sent it (a JSON object, compacted).
	Customer json.RawMessage `json:"customer"`
}

// ValidateContractHash checks a hex SHA-256 (64 hex digits) and returns it in lower case.
func ValidateContractHash(field, s string) (string, error) {
	if s == "" {
		return "", Errorf(CodeInvalidArgument, field, "is required (hex SHA-256 of the contract document)")
	}
	if len(s) != 64 {
		return "", Errorf(CodeInvalidArgument, field, "must be 64 hex digits (SHA-256); got %d characters", len(s))
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", Errorf(CodeInvalidArgument, field, "is not hex")
	}
	return strings.ToLower(s), nil
}

// BuildCustomerRecord validates the transient inputs of a request and returns the private
// value to store and its hex SHA-256. customer must be a JSON object of at most
// [MaxCustomerBytes]; salt must be 16 to 64 random bytes chosen by the client.
func BuildCustomerRecord(number, transferID string, customer []byte, contractHash string, salt []byte) ([]byte, string, error) {
	if len(customer) == 0 {
		return nil, "", Errorf(CodeInvalidArgument, "customer", "is required in the transient map (JSON object)")
	}
	if len(customer) > MaxCustomerBytes {
		return nil, "", Errorf(CodeInvalidArgument, "customer", "is %d bytes; at most %d", len(customer), MaxCustomerBytes)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, customer); err != nil {
		return nil, "", Errorf(CodeInvalidArgument, "customer", "is not valid JSON")
	}
	if compact.Len() < 2 || compact.Bytes()[0] != '{' || compact.String() == "{}" {
		return nil, "", Errorf(CodeInvalidArgument, "customer", "must be a non-empty JSON object")
	}
	ch, err := ValidateContractHash("contractHash", contractHash)
	if err != nil {
		return nil, "", err
	}
	if len(salt) < MinSaltBytes || len(salt) > MaxSaltBytes {
		return nil, "", Errorf(CodeInvalidArgument, "salt", "must be %d to %d random bytes in the transient map; got %d", MinSaltBytes, MaxSaltBytes, len(salt))
	}
	rec := CustomerRecord{
		Number:       number,
		TransferID:   transferID,
		ContractHash: ch,
		Salt:         hex.EncodeToString(salt),
		Customer:     json.RawMessage(compact.Bytes()),
	}
	value, err := json.Marshal(rec)
	if err != nil {
		return nil, "", Wrap(CodeInternal, err, "encode customer record")
	}
	return value, HashPrivate(value), nil
}

// HashPrivate is the hex SHA-256 of a private value.
func HashPrivate(value []byte) string {
	sum := sha256.Sum256(value)
	return hex.EncodeToString(sum[:])
}

// Command exchange is the exchange chaincode (order book, accounts, settlement), run as a
// chaincode service on the channels market and payments.
package main

import (
	"log"

	"github.com/fabmarket/fabmarket/chaincode/exchange/contract"
	"github.com/fabmarket/fabmarket/chaincode/internal/ccserver"
)

func main() {
	cc, err := ccserver.New("exchange", contract.New()...)
	if err != nil {
		log.Fatal(err)
	}
	if err := ccserver.Serve(cc); err != nil {
		log.Fatal(err)
	}
}

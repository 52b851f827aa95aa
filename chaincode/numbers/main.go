// Command numbers is the number-transfer chaincode (telco phone-number ownership and porting),
// run as a chaincode service on the channel numbers.
package main

import (
	"log"

	"github.com/fabmarket/fabmarket/chaincode/internal/ccserver"
	"github.com/fabmarket/fabmarket/chaincode/numbers/contract"
)

func main() {
	cc, err := ccserver.New("numbers", contract.New())
	if err != nil {
		log.Fatal(err)
	}
	if err := ccserver.Serve(cc); err != nil {
		log.Fatal(err)
	}
}

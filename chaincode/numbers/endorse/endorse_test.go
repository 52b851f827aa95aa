package endorse

import (
	"reflect"
	"testing"
)

func TestEndorsersFor(t *testing.T) {
	tests := []struct {
		step, requester, owner string
		want                   []string
	}{
		{"RequestTransfer", "Org2MSP", "Org1MSP", []string{"Org1MSP", "Org2MSP", "RegulatorMSP"}},
		{"RequestTransfer", "Org1MSP", "Org3MSP", []string{"Org1MSP", "Org3MSP", "RegulatorMSP"}},
		{"RequestTransfer", "Org1MSP", "Org1MSP", nil},
		{"RequestTransfer", "", "Org1MSP", nil},
		{"RequestTransfer", "RegulatorMSP", "Org1MSP", nil},
		{"ConfirmTransfer", "Org2MSP", "Org1MSP", nil},
		{"IssuePAC", "", "Org1MSP", nil},
		{"ResolveTransfer", "Org2MSP", "Org1MSP", nil},
	}
	for _, tt := range tests {
		if got := EndorsersFor(tt.step, tt.requester, tt.owner); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("EndorsersFor(%q, %q, %q) = %v; want %v", tt.step, tt.requester, tt.owner, got, tt.want)
		}
	}
}

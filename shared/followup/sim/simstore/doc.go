// Package simstore runs the follow-up simulation (shared/followup/sim) over the DynamoDB
// adapters of shared/store on DynamoDB Local, with dispatchers racing on redelivered
// messages (issue #15). It holds only tests:
//
//	go run ./infra/local/cmd/tierflow-local test -- go test -count=1 ./shared/followup/sim/simstore
package simstore

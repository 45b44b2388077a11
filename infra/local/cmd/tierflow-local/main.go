// Command tierflow-local runs tierflow on one machine: the real function binaries behind
// an emulated Lambda Runtime API, with DynamoDB, SQS and SES emulators, the HTTP API,
// queue mappings and schedules of template.yaml.
//
//	tierflow-local run                                  start everything; Ctrl-C stops it
//	tierflow-local token -role admin -stores s1          print a staff token for the local API
//	tierflow-local invoke -fn SweepFunction -event events/sweep.json
//	tierflow-local test -- go test ./shared/store           run tests against fresh emulators
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx := context.Background()
	var err error
	switch os.Args[1] {
	case "run":
		err = run(ctx, os.Args[2:])
	case "token":
		err = token(os.Args[2:])
	case "invoke":
		err = invoke(ctx, os.Args[2:])
	case "test":
		err = test(ctx, os.Args[2:])
	case "-h", "-help", "--help", "help":
		usage()
		return
	default:
		usage()
		os.Exit(2)
	}
	var exit exitCode
	if errors.As(err, &exit) {
		os.Exit(int(exit))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tierflow-local:", err)
		os.Exit(1)
	}
}

// exitCode ends the program with a status and no further message.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func usage() {
	fmt.Fprint(os.Stderr, `usage: tierflow-local <command> [flags]
  run      start the local stack on 127.0.0.1:${TIERFLOW_PORT:-3000}; Ctrl-C stops it
  token    print a staff JWT the local API accepts (-role admin|clinician|agent -stores s1,s2)
  invoke   invoke a function with an event file (-fn LogicalId -event events/x.json),
           or fire one of its schedules (-fn LogicalId -schedule Nightly)
  test     -- <command>: run a command (go test ...) against emulators started for it, stop
           them when it ends; without a command, print their variables and wait for Ctrl-C
`)
}

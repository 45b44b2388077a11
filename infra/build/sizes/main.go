// Command sizes prints the size of each arm64 bootstrap `make build` wrote against its
// budget (infra/build) and exits 1 when one is above its limit.
//
//	go run ./infra/build/sizes -dir .build/lambda PublicApiFunction:public-api ApiFunction:api ...
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tierflow/tierflow/infra/build"
)

func main() {
	dir := flag.String("dir", ".build/lambda", "folder holding <LogicalId>/bootstrap")
	flag.Parse()
	failed := false
	for _, pair := range flag.Args() {
		id, folder, ok := strings.Cut(pair, ":")
		if !ok {
			fmt.Fprintf(os.Stderr, "sizes: %q is not LogicalId:folder\n", pair)
			os.Exit(2)
		}
		f, ok := build.Lookup(folder)
		if !ok {
			fmt.Fprintf(os.Stderr, "sizes: functions/%s has no budget in infra/build\n", folder)
			failed = true
			continue
		}
		st, err := os.Stat(filepath.Join(*dir, id, "bootstrap"))
		if err != nil {
			fmt.Fprintf(os.Stderr, "sizes: %v\n", err)
			failed = true
			continue
		}
		line, err := f.CheckSize(st.Size())
		fmt.Println(line)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sizes:", err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

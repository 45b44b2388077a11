//go:build !unix

package main

import "time"

// processCPU is not measured here: the rfm command then prints wall-clock times only.
func processCPU() time.Duration { return 0 }

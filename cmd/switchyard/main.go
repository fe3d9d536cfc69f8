// Command switchyard is the Switchyard LLM gateway.
//
// Usage:
//
//	switchyard serve [--config FILE] [--listen ADDR]
//	switchyard version
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// A Go program with one known allocation site for the CLI tests: main.grow
// keeps N blocks of 4 KiB. Sampling every RATE bytes (1: every allocation),
// it writes its heap profile to each FILE after a GC, as Go's debug=1 text
// (DEBUG 1) or protobuf (DEBUG 0), all at the same moment.
//
//	go run main.go RATE N DEBUG:FILE...
package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
)

var keep [][]byte

//go:noinline
func grow(n int) {
	for i := 0; i < n; i++ {
		keep = append(keep, make([]byte, 4096))
	}
}

func main() {
	rate, _ := strconv.Atoi(os.Args[1])
	n, _ := strconv.Atoi(os.Args[2])
	runtime.MemProfileRate = rate
	grow(n)
	runtime.GC()
	for _, out := range os.Args[3:] {
		debug, name, _ := strings.Cut(out, ":")
		level, _ := strconv.Atoi(debug)
		f, err := os.Create(name)
		if err != nil {
			panic(err)
		}
		pprof.Lookup("heap").WriteTo(f, level)
		f.Close()
	}
}

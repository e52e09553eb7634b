package main

import (
	"fmt"
	"io"

	"onecall/configs"
)

// cmdCheckConfig validates configuration offline: every problem is printed
// with its file and line, and the exit code is non-zero when there are any.
func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		args = []string{"configs"}
	}
	code := 0
	for _, p := range args {
		b, err := configs.Load(p)
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: ok (%d numbers, %d aliases, %d centers, %d queues)\n",
			p, len(b.Hotlines.Numbers), len(b.Hotlines.Aliases), len(b.Hotlines.Centers), len(b.Queues))
	}
	return code
}

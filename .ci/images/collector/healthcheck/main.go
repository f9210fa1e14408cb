// healthcheck: stand-in for the /healthcheck binary of the ADOT collector image.
// Exits 0 when the collector's health_check extension answers 200 on
// http://127.0.0.1:<port>/ (default port 13133, `-port N` to change), 1 otherwise.
// Static, stdlib only: the image is FROM scratch, so a compose healthcheck must be
// `test: ["CMD", "/healthcheck"]`.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	port := flag.String("port", "13133", "health_check extension port")
	flag.Parse()
	if n, err := strconv.Atoi(*port); err != nil || n < 1 || n > 65535 {
		fmt.Fprintf(os.Stderr, "invalid port %q\n", *port)
		os.Exit(1)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://127.0.0.1:" + *port + "/")
	if err != nil {
		fmt.Fprintf(os.Stderr, "unable to retrieve health status: %v\n", err)
		os.Exit(1)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "STATUS: %d\n", resp.StatusCode)
		os.Exit(1)
	}
	fmt.Printf("STATUS: %d\n", resp.StatusCode)
}

// A small Go server for tests/integration/t_runtimes.sh (net, a goroutine
// per connection, the runtime's netpoller on epoll).
//
// Two listeners on 127.0.0.1, ephemeral ports, written to the ready file:
//
//	serve  line protocol: "ping N\n" -> "pong N\n", the connection stays up
//	leak   reads until EOF, then keeps the conn without closing it
//	       (CLOSE_WAIT) in a list
//
// Commands on stdin, one per line, each answered "ack CMD ..." on stdout:
//
//	close-old  close the first half of the kept conns (what the program
//	           does when it cleans up: Close() removes the fd from epoll
//	           and closes the number)
//	gc         forget the rest and run the GC until their finalizers
//	           (netFD.Close) have had the chance to run
//
// Errors a connection goroutine sees go to stdout as "ERROR ...".
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

var (
	mu  sync.Mutex
	old []net.Conn
)

func logf(format string, a ...interface{}) {
	mu.Lock()
	defer mu.Unlock()
	fmt.Printf("%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, a...))
}

func serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if !errors.Is(err, io.EOF) {
				logf("ERROR serve: %v", err)
			}
			return
		}
		line = strings.TrimSuffix(line, "\n")
		reply := "error\n"
		if strings.HasPrefix(line, "ping ") {
			reply = "pong " + line[5:] + "\n"
		}
		if _, err := c.Write([]byte(reply)); err != nil {
			logf("ERROR serve write: %v", err)
			return
		}
	}
}

func leak(c net.Conn) {
	b := make([]byte, 4096)
	for {
		if _, err := c.Read(b); err != nil {
			if !errors.Is(err, io.EOF) {
				logf("ERROR leak: %v", err)
			}
			break
		}
	}
	mu.Lock()
	old = append(old, c)
	n := len(old)
	mu.Unlock()
	logf("leak eof count %d", n)
}

func acceptLoop(l net.Listener, h func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			logf("ERROR accept: %v", err)
			return
		}
		go h(c)
	}
}

func main() {
	ready := ""
	for i, a := range os.Args {
		if a == "--ready" && i+1 < len(os.Args) {
			ready = os.Args[i+1]
		}
	}
	ls, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ll, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go acceptLoop(ls, serve)
	go acceptLoop(ll, leak)
	info, _ := json.Marshal(map[string]int{
		"pid":   os.Getpid(),
		"serve": ls.Addr().(*net.TCPAddr).Port,
		"leak":  ll.Addr().(*net.TCPAddr).Port,
	})
	if err := os.WriteFile(ready+".tmp", append(info, '\n'), 0o644); err != nil {
		panic(err)
	}
	if err := os.Rename(ready+".tmp", ready); err != nil {
		panic(err)
	}
	logf("ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch cmd := strings.TrimSpace(sc.Text()); cmd {
		case "close-old":
			mu.Lock()
			half := old[:len(old)/2]
			old = old[len(old)/2:]
			mu.Unlock()
			for _, c := range half {
				if err := c.Close(); err != nil {
					logf("ERROR close-old: %v", err)
				}
			}
			logf("ack close-old %d", len(half))
		case "gc":
			mu.Lock()
			n := len(old)
			old = nil
			mu.Unlock()
			for i := 0; i < 10; i++ {
				runtime.GC()
				time.Sleep(20 * time.Millisecond)
			}
			logf("ack gc dropped %d", n)
		case "":
		default:
			logf("unknown command %s", cmd)
		}
	}
	logf("stdin closed")
	select {}
}

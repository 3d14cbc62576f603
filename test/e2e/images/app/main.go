// Command app is the demo workload of Temblor's end-to-end tests and local
// demo: one static binary, two roles.
//
//	app server [--http :8000] [--tcp :7000] [--udp :7001]
//	    HTTP (/ answers "ok <hostname>", /healthz), TCP line echo, UDP echo.
//	app client --target HOST:PORT [--proto http|tcp|udp] [--rate 10] [--listen :8081]
//	    sends requests at a fixed rate, each on a fresh connection (so every
//	    request makes a connect syscall), prints a JSON line of its success
//	    rate every second and serves the same at /stats on --listen.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: app server|client [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	switch os.Args[1] {
	case "server":
		server(ctx, os.Args[2:])
	case "client":
		client(ctx, os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: app server|client [flags]")
		os.Exit(2)
	}
}

func server(ctx context.Context, args []string) {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	httpAddr := fs.String("http", ":8000", "HTTP listen address (empty: off)")
	tcpAddr := fs.String("tcp", ":7000", "TCP echo listen address (empty: off)")
	udpAddr := fs.String("udp", ":7001", "UDP echo listen address (empty: off)")
	fs.Parse(args)
	host, _ := os.Hostname()

	if *httpAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
		mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "ok %s\n", host) })
		srv := &http.Server{Addr: *httpAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
				log.Fatalf("http: %v", err)
			}
		}()
		go func() { <-ctx.Done(); srv.Close() }()
	}
	if *tcpAddr != "" {
		ln, err := net.Listen("tcp", *tcpAddr)
		if err != nil {
			log.Fatalf("tcp: %v", err)
		}
		go func() { <-ctx.Done(); ln.Close() }()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					c.SetDeadline(time.Now().Add(30 * time.Second))
					sc := bufio.NewScanner(c)
					for sc.Scan() {
						fmt.Fprintf(c, "%s\n", sc.Text())
					}
				}()
			}
		}()
	}
	if *udpAddr != "" {
		pc, err := net.ListenPacket("udp", *udpAddr)
		if err != nil {
			log.Fatalf("udp: %v", err)
		}
		go func() { <-ctx.Done(); pc.Close() }()
		go func() {
			buf := make([]byte, 65536)
			for {
				n, addr, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				pc.WriteTo(buf[:n], addr)
			}
		}()
	}
	log.Printf("server %s: http=%q tcp=%q udp=%q", host, *httpAddr, *tcpAddr, *udpAddr)
	<-ctx.Done()
}

// Stats is what the client reports.
type Stats struct {
	Target      string  `json:"target"`
	Proto       string  `json:"proto"`
	Sent        int64   `json:"sent"`
	OK          int64   `json:"ok"`
	Failed      int64   `json:"failed"`
	WindowSent  int64   `json:"windowSent"`
	WindowOK    int64   `json:"windowOK"`
	SuccessRate float64 `json:"successRate"` // over the last window, 0..1
	LastError   string  `json:"lastError,omitempty"`
	Time        string  `json:"time"`
}

type result struct {
	at time.Time
	ok bool
}

func client(ctx context.Context, args []string) {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	target := fs.String("target", "", "HOST:PORT to send requests to")
	proto := fs.String("proto", "http", "http, tcp or udp")
	rate := fs.Float64("rate", 10, "requests per second")
	listen := fs.String("listen", ":8081", "serve /stats here (empty: off)")
	window := fs.Duration("window", 3*time.Second, "window of the success rate")
	timeout := fs.Duration("timeout", time.Second, "timeout of one request")
	fs.Parse(args)
	if *target == "" {
		log.Fatal("--target is required")
	}

	var mu sync.Mutex
	st := Stats{Target: *target, Proto: *proto}
	var recent []result
	snapshot := func() Stats {
		mu.Lock()
		defer mu.Unlock()
		cut := time.Now().Add(-*window)
		i := 0
		for i < len(recent) && recent[i].at.Before(cut) {
			i++
		}
		recent = recent[i:]
		s := st
		s.WindowSent, s.WindowOK = int64(len(recent)), 0
		for _, r := range recent {
			if r.ok {
				s.WindowOK++
			}
		}
		if s.WindowSent > 0 {
			s.SuccessRate = float64(s.WindowOK) / float64(s.WindowSent)
		}
		s.Time = time.Now().UTC().Format(time.RFC3339Nano)
		return s
	}

	if *listen != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(snapshot())
		})
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
		srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go srv.ListenAndServe()
		go func() { <-ctx.Done(); srv.Close() }()
	}

	httpc := &http.Client{Timeout: *timeout, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	once := func() error {
		switch *proto {
		case "http":
			resp, err := httpc.Get("http://" + *target + "/")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != 200 {
				return fmt.Errorf("status %s", resp.Status)
			}
			return nil
		case "tcp", "udp":
			c, err := net.DialTimeout(*proto, *target, *timeout)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(*timeout))
			msg := fmt.Sprintf("ping %d", time.Now().UnixNano())
			if _, err := fmt.Fprintf(c, "%s\n", msg); err != nil {
				return err
			}
			buf := make([]byte, 256)
			n, err := c.Read(buf)
			if err != nil {
				return err
			}
			if strings.TrimSpace(string(buf[:n])) != msg {
				return fmt.Errorf("bad echo %q", buf[:n])
			}
			return nil
		}
		return fmt.Errorf("unknown proto %q", *proto)
	}

	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				b, _ := json.Marshal(snapshot())
				fmt.Println(string(b))
			}
		}
	}()

	tick := time.NewTicker(time.Duration(float64(time.Second) / *rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		go func() {
			err := once()
			mu.Lock()
			defer mu.Unlock()
			st.Sent++
			if err != nil {
				st.Failed++
				st.LastError = err.Error()
			} else {
				st.OK++
			}
			recent = append(recent, result{at: time.Now(), ok: err == nil})
		}()
	}
}

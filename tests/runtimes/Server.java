// A small JVM server for tests/integration/t_runtimes.sh (java.net, a
// thread per connection, as most blocking Java servers are).
//
// Two listeners on 127.0.0.1, ephemeral ports, written to the ready file:
//   serve  line protocol: "ping N\n" -> "pong N\n", the connection stays up
//   leak   reads until EOF, then drops the Socket without closing it (a
//          leak: CLOSE_WAIT until the GC finds the Socket and the JDK's
//          Cleaner closes its fd number)
// Commands on stdin, one per line, each answered "ack CMD ..." on stdout:
//   gc     System.gc() in a loop until every leaked Socket was collected
// Every exception a connection thread sees goes to stdout as "ERROR ...".
import java.io.*;
import java.lang.ref.WeakReference;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import java.util.concurrent.CopyOnWriteArrayList;

public class Server {
    static final List<WeakReference<Socket>> leaked = new CopyOnWriteArrayList<>();

    static synchronized void log(String s) {
        System.out.println(java.time.LocalTime.now() + " " + s);
        System.out.flush();
    }

    static void serve(Socket s) {
        try (s;
             BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
             OutputStream out = s.getOutputStream()) {
            String line;
            while ((line = in.readLine()) != null) {
                String reply = line.startsWith("ping ") ? "pong " + line.substring(5) + "\n" : "error\n";
                out.write(reply.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
            }
        } catch (IOException e) {
            log("ERROR serve: " + e);
        }
    }

    static void leak(Socket s) {
        try {
            InputStream in = s.getInputStream();
            byte[] b = new byte[4096];
            while (in.read(b) >= 0) { }
            leaked.add(new WeakReference<>(s));
            log("leak eof count " + leaked.size());
        } catch (IOException e) {
            log("ERROR leak: " + e);
        }
        // s is dropped here, never closed.
    }

    interface Handler { void handle(Socket s); }

    static void acceptLoop(ServerSocket ss, Handler h, String name) {
        Thread t = new Thread(() -> {
            while (true) {
                try {
                    Socket s = ss.accept();
                    Thread c = new Thread(() -> h.handle(s), name + "-conn");
                    c.setDaemon(true);
                    c.start();
                } catch (IOException e) {
                    log("ERROR accept " + name + ": " + e);
                    return;
                }
            }
        }, name + "-accept");
        t.setDaemon(true);
        t.start();
    }

    static void gc() throws InterruptedException {
        long end = System.nanoTime() + 20_000_000_000L;
        int cleared = 0;
        while (System.nanoTime() < end) {
            System.gc();
            cleared = 0;
            for (WeakReference<Socket> r : leaked)
                if (r.get() == null) cleared++;
            if (cleared == leaked.size()) break;
            Thread.sleep(20);
        }
        log("ack gc cleared " + cleared + " of " + leaked.size());
    }

    public static void main(String[] args) throws Exception {
        String ready = args[Arrays.asList(args).indexOf("--ready") + 1];
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> log("ERROR uncaught in " + t.getName() + ": " + e));
        InetAddress lo = InetAddress.getByName("127.0.0.1");
        ServerSocket serve = new ServerSocket(0, 128, lo);
        ServerSocket leak = new ServerSocket(0, 128, lo);
        acceptLoop(serve, Server::serve, "serve");
        acceptLoop(leak, Server::leak, "leak");
        long pid = ProcessHandle.current().pid();
        Path tmp = Paths.get(ready + ".tmp");
        Files.write(tmp, String.format("{\"pid\":%d,\"serve\":%d,\"leak\":%d}%n", pid,
                serve.getLocalPort(), leak.getLocalPort()).getBytes(StandardCharsets.US_ASCII));
        Files.move(tmp, Paths.get(ready), StandardCopyOption.ATOMIC_MOVE);
        log("ready");
        BufferedReader cmd = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        String line;
        while ((line = cmd.readLine()) != null) {
            line = line.trim();
            if (line.equals("gc")) gc();
            else if (!line.isEmpty()) log("unknown command " + line);
        }
        log("stdin closed");
        Thread.sleep(Long.MAX_VALUE);
    }
}

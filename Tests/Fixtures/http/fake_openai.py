"""Test helpers for seal's HTTP client, on 127.0.0.1 only; each exits by itself after --lifetime seconds.

  fake_openai.py https CERT KEY   an https OpenAI-style chat-completions endpoint that answers "yes"
  fake_openai.py proxy LOG        an HTTP proxy that tunnels CONNECT requests and appends each request line to LOG
Prints "port N" once listening.
"""
import http.server, json, os, select, socket, socketserver, ssl, sys, threading

LIFETIME = 60.0


class Chat(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(n) or b"{}")
        reply = {"id": "x", "object": "chat.completion", "model": body.get("model", ""),
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": "yes"}, "finish_reason": "stop"}]}
        data = json.dumps(reply).encode()
        self.send_response(200 if self.path.endswith("/chat/completions") else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


class Proxy(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline(65536).decode("latin-1").strip()
        while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
            pass
        with open(sys.argv[2], "a") as f:
            f.write(line + "\n")
        parts = line.split()
        if len(parts) < 2 or parts[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            return
        host, _, port = parts[1].rpartition(":")
        if host not in ("127.0.0.1", "localhost"):  # never a tunnel off this machine
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            return
        upstream = socket.create_connection((host, int(port)), timeout=10)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        a, b = self.connection, upstream
        for _ in range(10000):
            r, _, _ = select.select([a, b], [], [], 10)
            if not r:
                break
            done = False
            for s in r:
                data = s.recv(65536)
                if not data:
                    done = True
                    break
                (b if s is a else a).sendall(data)
            if done:
                break
        upstream.close()


class Threading(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    mode = sys.argv[1]
    if mode == "https":
        server = Threading(("127.0.0.1", 0), Chat)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    else:
        class T(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True
        server = T(("127.0.0.1", 0), Proxy)
    timer = threading.Timer(LIFETIME, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    print("port", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

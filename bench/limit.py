"""The machine's limit for one stream over loopback (bench step 1's "limit" rows).

  python3 bench/limit.py recv              prints "PORT <n>", then for each connection reads
                                           to the end, discarding, and prints "<bytes> <seconds>"
                                           (first byte ... end of stream)
  python3 bench/limit.py sendfile <file> <port>   os.sendfile, no copy
  python3 bench/limit.py sendfile-lowat <file> <port>   the same with TCP_NOTSENT_LOWAT 64 KiB
                                           (what ftpkit's zero-copy sends set)
  python3 bench/limit.py copy <file> <port>       read 2 MiB + sendall, one copy
Exits when stdin closes (recv) or after the send.
"""
import os
import socket
import sys
import threading
import time


def recv():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    sys.stdout.write("PORT %d\n" % srv.getsockname()[1])
    sys.stdout.flush()

    def watch_stdin():
        try:
            sys.stdin.buffer.read()
        finally:
            os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    buf = bytearray(4 * 1024 * 1024)
    view = memoryview(buf)
    while True:
        conn, _ = srv.accept()
        total = 0
        started = None
        while True:
            n = conn.recv_into(view)
            if n == 0:
                break
            if started is None:
                started = time.perf_counter()
            total += n
        seconds = time.perf_counter() - (started or time.perf_counter())
        conn.close()
        sys.stdout.write("%d %.6f\n" % (total, seconds))
        sys.stdout.flush()


def send(mode, path, port):
    s = socket.create_connection(("127.0.0.1", int(port)))
    if mode == "sendfile-lowat":
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT, 64 * 1024)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if mode.startswith("sendfile"):
            offset = 0
            while offset < size:
                offset += os.sendfile(s.fileno(), f.fileno(), offset, size - offset)
        else:
            while True:
                chunk = f.read(2 * 1024 * 1024)
                if not chunk:
                    break
                s.sendall(chunk)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    s.close()


if __name__ == "__main__":
    if sys.argv[1] == "recv":
        recv()
    else:
        send(sys.argv[1], sys.argv[2], sys.argv[3])

"""The machine's limit for one stream over loopback (bench step 1's "limit" rows).

  python3 bench/limit.py recv              prints "PORT <n>", then for each connection reads
                                           to the end, discarding, and prints "<bytes> <seconds>"
                                           (first byte ... end of stream)
  python3 bench/limit.py sendfile <file> <port>   os.sendfile, no copy
  python3 bench/limit.py sendfile-lowat <file> <port>   the same with TCP_NOTSENT_LOWAT 64 KiB
                                           (what ftpkit's zero-copy sends set)
  python3 bench/limit.py copy <file> <port>       read 2 MiB + sendall, one copy
  python3 bench/limit.py ftp-recv <folder>        prints "PORT <n>", then serves the few commands
                                           curl's `-T` upload sends (any login, EPSV/PASV, TYPE,
                                           STOR) and nothing else: each STOR is blocking
                                           recv 256 KiB + write into <folder>, as a bare
                                           copying server does it (the uploads' reference row)
  python3 bench/limit.py retr <host> <port> <user> <password> <path>   an FTP client: one RETR
                                           over EPSV, its data read as `recv` reads, prints
                                           "<bytes> <seconds>" (a server's copying path beside
                                           the raw senders, into the same receiver)
Exits when stdin closes (recv, ftp-recv) or after the send or the RETR.
"""
import os
import socket
import sys
import threading
import time


def exit_with_stdin():
    def watch_stdin():
        try:
            sys.stdin.buffer.read()
        finally:
            os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()


def recv():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    sys.stdout.write("PORT %d\n" % srv.getsockname()[1])
    sys.stdout.flush()
    exit_with_stdin()
    view = memoryview(bytearray(4 * 1024 * 1024))
    while True:
        conn, _ = srv.accept()
        total, seconds = drain(conn, view)
        conn.close()
        sys.stdout.write("%d %.6f\n" % (total, seconds))
        sys.stdout.flush()


def drain(conn, view):
    """Reads conn to its end into view: (bytes, seconds from the first byte to the end)."""
    total = 0
    started = None
    while True:
        n = conn.recv_into(view)
        if n == 0:
            break
        if started is None:
            started = time.perf_counter()
        total += n
    return total, time.perf_counter() - (started or time.perf_counter())


def retr(host, port, user, password, path):
    """One RETR over EPSV, its data read as recv() reads a sender's: prints "<bytes> <seconds>"."""
    conn = socket.create_connection((host, int(port)))
    control = conn.makefile("rb")

    def reply():
        line = control.readline().decode("utf-8", "replace")
        while len(line) > 3 and line[3] == "-":
            line = control.readline().decode("utf-8", "replace")
        if not line[:1] in ("1", "2", "3"):
            sys.exit("refused: " + line.strip())
        return line

    def command(text):
        conn.sendall((text + "\r\n").encode())
        return reply()

    reply()
    command("USER " + user)
    command("PASS " + password)
    command("TYPE I")
    data_port = int(command("EPSV").split("|||")[1].split("|")[0])
    data = socket.create_connection((host, data_port))
    command("RETR " + path)
    total, seconds = drain(data, memoryview(bytearray(4 * 1024 * 1024)))
    data.close()
    reply()
    command("QUIT")
    conn.close()
    sys.stdout.write("%d %.6f\n" % (total, seconds))


def ftp_recv(folder):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    sys.stdout.write("PORT %d\n" % srv.getsockname()[1])
    sys.stdout.flush()
    exit_with_stdin()
    buf = bytearray(256 * 1024)
    view = memoryview(buf)
    while True:
        conn, _ = srv.accept()
        control = conn.makefile("rb")
        reply = lambda text: conn.sendall((text + "\r\n").encode())
        reply("220 bare receiver")
        listener = None
        for line in control:
            verb, _, arg = line.decode("utf-8", "replace").strip().partition(" ")
            verb = verb.upper()
            if verb == "USER":
                reply("331 any password")
            elif verb == "PASS":
                reply("230 logged in")
            elif verb == "PWD":
                reply('257 "/"')
            elif verb in ("CWD", "TYPE", "MODE", "STRU"):
                reply("200 ok")
            elif verb in ("EPSV", "PASV"):
                listener = socket.socket()
                listener.bind(("127.0.0.1", 0))
                listener.listen(1)
                port = listener.getsockname()[1]
                if verb == "EPSV":
                    reply("229 Entering Extended Passive Mode (|||%d|)" % port)
                else:
                    reply("227 Entering Passive Mode (127,0,0,1,%d,%d)" % (port >> 8, port & 255))
            elif verb == "STOR" and listener is not None:
                reply("150 ok")
                data, _ = listener.accept()
                listener.close()
                listener = None
                name = os.path.join(folder, os.path.basename(arg) or "upload")
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    while True:
                        n = data.recv_into(view)
                        if n == 0:
                            break
                        os.write(fd, view[:n])
                finally:
                    os.close(fd)
                    data.close()
                reply("226 stored")
            elif verb == "QUIT":
                reply("221 bye")
                break
            else:
                reply("502 not here")
        conn.close()


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
    elif sys.argv[1] == "ftp-recv":
        ftp_recv(sys.argv[2])
    elif sys.argv[1] == "retr":
        retr(*sys.argv[2:7])
    else:
        send(sys.argv[1], sys.argv[2], sys.argv[3])

"""pyftpdlib launcher for ftpkit interop tests (started by test/helpers/peers.ts).

Binds 127.0.0.1 port 0 itself (no port race) and prints "PORT <n>" on stdout
once listening. Configuration comes from the environment:
  FTPKIT_USER, FTPKIT_PASSWORD, FTPKIT_ROOT  local user with full permissions
  FTPKIT_ANON_ROOT                           optional read-only anonymous root
  FTPKIT_PASV_MIN, FTPKIT_PASV_MAX           passive port range
  FTPKIT_BANNER                              220 banner text
Exits when stdin closes, so it never outlives the test process.
"""
import os
import sys
import threading

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


def main():
    env = os.environ
    authorizer = DummyAuthorizer()
    authorizer.add_user(env["FTPKIT_USER"], env["FTPKIT_PASSWORD"], env["FTPKIT_ROOT"], perm="elradfmwMT")
    if env.get("FTPKIT_ANON_ROOT"):
        authorizer.add_anonymous(env["FTPKIT_ANON_ROOT"], perm="elr")

    class Handler(FTPHandler):
        pass

    Handler.authorizer = authorizer
    Handler.banner = env.get("FTPKIT_BANNER", "ftpkit pyftpdlib")
    Handler.masquerade_address = "127.0.0.1"
    Handler.passive_ports = range(int(env["FTPKIT_PASV_MIN"]), int(env["FTPKIT_PASV_MAX"]) + 1)
    Handler.permit_foreign_addresses = False
    Handler.use_sendfile = True

    # A listen backlog for 1,000 sessions connecting at once (the bench's ftpbench step): with
    # pyftpdlib's default of 100 about half of them were refused.
    server = FTPServer(("127.0.0.1", 0), Handler, backlog=int(env.get("FTPKIT_BACKLOG", "1024")))
    server.max_cons = 0
    server.max_cons_per_ip = 0
    port = server.socket.getsockname()[1]

    # The parent holds our stdin open; EOF means it went away.
    def watch_stdin():
        try:
            sys.stdin.buffer.read()
        finally:
            os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()

    sys.stdout.write("PORT %d\n" % port)
    sys.stdout.flush()
    server.serve_forever(handle_exit=False)


if __name__ == "__main__":
    main()

// Off-loop file <-> socket moves for Node on Linux: file -> socket sends with sendfile(2), and
// socket -> file receives spliced (or read and written) by one thread, as a blocking server does them.
//
// Node has no sendfile. This addon runs threads of its own (one per core, at most four), each
// with an epoll set of the sockets it moves data on (a job stays on one thread): when a socket
// is writable (a send) it calls sendfile() until the kernel takes no more (EAGAIN); when it is
// readable (a receive) it splices what arrived into the file at once, until the socket has
// nothing more (EAGAIN); then it waits for the next event. So:
//  - the event loop never blocks (it only registers, cancels and hears completions);
//  - no libuv pool thread is pinned while a socket is not ready (thousands of slow peers
//    cost one epoll entry each);
//  - a sent byte never enters user space, and a received one is copied once, into the file,
//    not read into memory and handed from the loop's thread to a pool thread.
// Each job holds dup()s of the socket and file descriptors, so a socket that Node destroys
// meanwhile (peer reset) can never make us touch a recycled descriptor number.
// cancel() is synchronous: when it returns, no call of that job is running or will run.
#include <node_api.h>

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

// One call moves at most this much, and one wake-up at most kTurn, so one fast reader
// cannot starve the other sends sharing the thread.
constexpr size_t kChunk = 4 << 20;
constexpr int64_t kTurn = 16 << 20;
// A receive without splice reads at most this much before writing it: small enough to stay in
// the cache. With splice, one call moves at most kSpliceSize (the pipe's size).
constexpr size_t kReadSize = 256 << 10;
constexpr size_t kSpliceSize = 1 << 20;
// A receive's trial (see Send::trial): after kTrialWarmUp, the two ways take turns every
// kTrialSlice until each moved kTrialBytes.
constexpr int64_t kTrialWarmUp = 2 << 20;
constexpr int64_t kTrialSlice = 1 << 20;
constexpr int64_t kTrialBytes = 4 << 20;
// A long receive tries again every kTrialEvery (the sender's pace and the memory it lands
// on change during a transfer).
constexpr int64_t kTrialEvery = 64 << 20;
// A send keeps at most this much of its file queued but not yet sent (TCP_NOTSENT_LOWAT);
// the socket reads as writable again below it. Without a cap the kernel queues up to
// tcp_wmem's maximum (4 MiB) per socket, and the rest of the send is transmitted from the
// receiver's ACKs: on loopback, inside the receiving process's recv(), so the receiver pays for
// the sender's TCP work. With the cap the sender's own thread does it. Measured on loopback
// (2 vCPU): one RETR of 1 GiB 2.5-3.8 -> 5.2-7.1 GB/s, 300 concurrent RETR 2.1-2.3 -> 4.4-5.4 GB/s;
// 16-64 KiB measured alike, 128 KiB lost half the gain.
constexpr int kNotSentLowat = 64 << 10;
// A send tries sendfile and a copy by turns (see Send::trial): after kSendWarmUp, slices of
// kSendSlice go sendfile, copy, copy, sendfile until each way moved kSendTrialBytes; again
// every kSendTrialEvery. Slices shorter than a few times the reader's socket buffer (up to
// 6 MiB) timed the buffer more than the way.
constexpr int64_t kSendWarmUp = 32 << 20;
constexpr int64_t kSendSlice = 16 << 20;
constexpr int64_t kSendTrialBytes = 32 << 20;
constexpr int64_t kSendTrialEvery = 512 << 20;
// A copy is kept only when it is this much faster (time per byte at most 0.9 of sendfile's):
// it spends the CPU that sendfile saves.
constexpr double kCopyMargin = 0.9;
// How a send moves its bytes: kWayAuto tries both (the default); the others are for tests.
enum Way { kWayAuto = 0, kWaySendfile = 1, kWayCopy = 2 };
// Worker threads at most (one per core below that).
constexpr unsigned kMaxThreads = 4;

// kDone: a send sent all; a receive saw the peer's FIN (and no reset after it).
// kEof: a send's file ended early. kLimit: a receive took the bytes it was asked for.
// kError: the socket failed. kFileError: a receive's write to the file failed.
enum Status { kActive = 0, kDone = 1, kEof = 2, kError = 3, kCancelled = 4, kLimit = 5, kFileError = 6 };

// A worker thread's pipe for receives (see Drain).
struct Pipe {
  int r = -1;
  int w = -1;
};

struct Send {
  uint32_t id;
  int sock;
  int file;
  // Sends: the file's next byte. Receives: where the next byte goes, or -1 for the file's own
  // position (write(), e.g. a file opened to append).
  int64_t offset;
  // One past the last byte; for a receive with no limit, -1.
  int64_t end;
  bool receive = false;
  // A receive may go through this thread's pipe (Drain); false: recv() + write() only (a
  // blocking socket, or the socket or the file refused a splice).
  bool splice = false;
  // A send (kWayAuto): sendfile or pread + send, chosen by trial (Send::trial).
  int way = kWayAuto;
  // Each job tries two ways by turns on its first bytes and keeps the better one.
  // A receive that can splice keeps the way that cost its thread less CPU per byte: which wins
  // depends on how the sender wrote (loopback, 1 GiB into tmpfs, server CPU: from curl reading
  // a file, splice 0.57 against 0.79 s; from curl reading a pipe in small writes, alike within
  // the noise). [0] recv + write, [1] splice.
  // A send alone on its thread keeps the way that moved its slices in less wall time: a
  // sendfile is so cheap that against a reader that takes 64 KiB at a time the thread sleeps
  // and wakes once per read (13,000 times per GiB), and the reader waits for it; a copy keeps
  // the thread busy while the reader reads (FileClient uploading 1 GiB to vsftpd, loopback:
  // 1.06 s with sendfile, 0.78 s copying 256 KiB at a time, 546-2,108 wake-ups). Against curl
  // downloading, sendfile won. [0] sendfile, [1] copy.
  struct Trial {
    bool on = false;
    // The way the last trial chose: [1] for receives (splice) and [0] for sends until one has.
    bool secondWins = true;
    // Bytes moved since the trial began; the first (warm-up) bytes are not counted (a
    // connection's start costs more either way), then the ways take turns slice by slice.
    int64_t seen = 0;
    // The next trial starts when the job has moved this many bytes.
    int64_t next = 0;
    // Sends: when the current slice began (CLOCK_MONOTONIC, ns).
    int64_t mark = 0;
    int64_t bytes[2] = {0, 0};
    int64_t ns[2] = {0, 0};
  } trial;
  // The epoll set (so the worker thread) this job runs on.
  int epfd = -1;
  std::atomic<int64_t> sent{0};
  int status = kActive;
  int err = 0;
  std::mutex m;
};

struct Completion {
  uint32_t id;
  int status;
  int64_t sent;
  int err;
};

struct State {
  // One epoll set per worker thread; jobs are spread over them.
  std::vector<int> epfds;
  // Each worker thread's pipe for receives (Drain), by the index of its epoll set.
  std::vector<Pipe> pipes;
  std::mutex m;
  std::unordered_map<uint32_t, std::shared_ptr<Send>> sends;
  uint32_t next_id = 1;
  // Bytes sends moved by copy rather than sendfile (tests check a trial ran).
  std::atomic<int64_t> copied{0};
  napi_threadsafe_function tsfn = nullptr;
};

State* g = nullptr;

void CloseFds(Send& s) {
  if (s.sock >= 0) close(s.sock);
  if (s.file >= 0) close(s.file);
  s.sock = s.file = -1;
}

// A buffer of kReadSize for the calling worker thread (receives without splice, copied sends).
char* ThreadBuffer() {
  thread_local char* buf = new char[kReadSize];
  return buf;
}

int64_t MonotonicNs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

// Whether job s is the only one on its worker thread (otherwise a trial would time the others too).
bool Alone(const Send& s) {
  std::lock_guard<std::mutex> lock(g->m);
  for (const auto& entry : g->sends)
    if (entry.second.get() != &s && entry.second->epfd == s.epfd) return false;
  return true;
}

// Whether the trial's second way took at most `margin` of the first's time per byte (without division).
bool SecondCheaper(const Send::Trial& t, double margin) {
  return static_cast<double>(t.ns[1]) * static_cast<double>(t.bytes[0]) <= margin * static_cast<double>(t.ns[0]) * static_cast<double>(t.bytes[1]);
}

// Starts a job's trial again, past its warm-up (`warmUp`: the bytes the first trial warmed up with).
void Retry(Send::Trial& t, int64_t warmUp) {
  t.on = true;
  t.seen = warmUp;
  t.bytes[0] = t.bytes[1] = t.ns[0] = t.ns[1] = 0;
}

// Whether a send's next bytes are copied (pread + send) rather than sent with sendfile.
bool SendCopies(const Send& s) {
  if (s.way != kWayAuto) return s.way == kWayCopy;
  if (!s.trial.on) return s.trial.secondWins;
  // sendfile, copy, copy, sendfile: a drift in the reader's pace (a young connection's
  // windows still growing) then weighs on both ways alike
  int64_t slice = s.trial.seen < kSendWarmUp ? -1 : ((s.trial.seen - kSendWarmUp) / kSendSlice) % 4;
  return slice == 1 || slice == 2;
}

// Counts n bytes a send moved for its trial; at each slice's end, times the slice, and once both
// ways moved kSendTrialBytes keeps the faster (a copy only by kCopyMargin). A send that is not
// alone on its thread at a slice's end stops trying until the next trial and sends with sendfile.
void SendTried(Send& s, bool copied, int64_t n) {
  Send::Trial& t = s.trial;
  int64_t before = t.seen;
  t.seen += n;
  if (t.seen < kSendWarmUp) return;
  bool warmedUp = before < kSendWarmUp;  // this move ended the warm-up: the first slice begins
  if (!warmedUp && (t.seen - kSendWarmUp) % kSendSlice != 0) return;  // within a slice
  int64_t now = MonotonicNs();
  if (!warmedUp) {
    t.bytes[copied ? 1 : 0] += kSendSlice;
    t.ns[copied ? 1 : 0] += now - t.mark;
  }
  t.mark = now;
  bool measured = t.bytes[0] >= kSendTrialBytes && t.bytes[1] >= kSendTrialBytes;
  if (!measured && Alone(s)) return;
  t.on = false;
  t.next = s.sent.load(std::memory_order_relaxed) + kSendTrialEvery;
  t.secondWins = measured && SecondCheaper(t, kCopyMargin);
}

// One move of a send: sendfile, or pread into the thread's buffer + send (the bytes a partial
// send did not take are read again next time). Returns what sendfile would: bytes sent, 0 at
// the file's end, -1 with errno.
ssize_t SendSome(Send& s, size_t want, bool copy) {
  off_t off = static_cast<off_t>(s.offset);
  if (!copy) return sendfile(s.sock, s.file, &off, want);
  char* buf = ThreadBuffer();
  ssize_t got = pread(s.file, buf, want < kReadSize ? want : kReadSize, off);
  if (got <= 0) return got;
  return send(s.sock, buf, static_cast<size_t>(got), MSG_DONTWAIT | MSG_NOSIGNAL);
}

// Called on the worker thread with s.m held. Returns true when the send finished.
bool Pump(Send& s) {
  int64_t turn = 0;
  while (s.offset < s.end) {
    if (turn >= kTurn) return false;  // rearm: let the others have a go
    size_t want = static_cast<size_t>(s.end - s.offset);
    if (want > kChunk) want = kChunk;
    bool tried = s.way == kWayAuto && s.trial.on;
    if (tried) {  // a move ends at the warm-up's or the slice's end
      int64_t seen = s.trial.seen;
      int64_t edge = seen < kSendWarmUp ? kSendWarmUp : kSendWarmUp + ((seen - kSendWarmUp) / kSendSlice + 1) * kSendSlice;
      if (static_cast<int64_t>(want) > edge - seen) want = static_cast<size_t>(edge - seen);
    }
    bool copy = SendCopies(s);
    ssize_t n = SendSome(s, want, copy);
    if (n > 0) {
      s.offset += n;
      turn += n;
      s.sent.fetch_add(n, std::memory_order_relaxed);
      if (copy) g->copied.fetch_add(n, std::memory_order_relaxed);
      if (tried) {
        SendTried(s, copy, n);
      } else if (s.way == kWayAuto && s.trial.next > 0 && s.sent.load(std::memory_order_relaxed) >= s.trial.next) {
        // Again, without the warm-up, if the send is alone on its thread.
        s.trial.next = s.sent.load(std::memory_order_relaxed) + kSendTrialEvery;
        if (Alone(s)) {
          Retry(s.trial, kSendWarmUp);
          s.trial.mark = MonotonicNs();
        }
      }
      continue;
    }
    if (n == 0) {  // the file ended before `end`: truncated meanwhile
      s.status = kEof;
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return false;
    s.status = kError;
    s.err = errno;
    return true;
  }
  s.status = kDone;
  return true;
}

// What a job waits for: a send for room in the socket, a receive for bytes (or the end); once.
uint32_t Readiness(const Send& s) {
  return (s.receive ? EPOLLIN | EPOLLRDHUP : EPOLLOUT) | EPOLLONESHOT;
}

// A receive moves the socket's bytes into the file with splice(2), through this thread's pipe:
// the socket's pages pass to the pipe by reference and are copied once, into the file, where
// recv() + write() copy twice (a minimal receiver on loopback into tmpfs, 1 MiB sends: 25% less
// CPU; which way is cheaper depends on the sender, see Send::trial).
// The pipe is empty between calls. Without it (none could be made, a blocking socket, a file
// that takes no splice such as one opened to append) a receive reads and writes.
//
// Made by init() with the thread's epoll set, so a process's descriptors do not change with
// its transfers; 1 MiB if the system allows. Blocking: a splice from a pipe that is
// non-blocking into a FIFO would fail with EAGAIN where write() waits (the socket's side of a
// splice is non-blocking by its own flag and SPLICE_F_NONBLOCK).
Pipe MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Pipe{};
  fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(kSpliceSize));  // best effort: 64 KiB works too
  return Pipe{fds[0], fds[1]};
}

thread_local Pipe tPipe;

// Discards what the pipe holds.
void EmptyPipe(Pipe& p, char* buf) {
  int left = 0;
  while (ioctl(p.r, FIONREAD, &left) == 0 && left > 0) {
    if (read(p.r, buf, static_cast<size_t>(left) < kReadSize ? static_cast<size_t>(left) : kReadSize) <= 0 && errno != EINTR) return;
  }
}

// Counts m bytes written to the job's file.
void Wrote(Send& s, ssize_t m) {
  if (s.offset >= 0) s.offset += m;
  s.sent.fetch_add(m, std::memory_order_relaxed);
}

// Records a failed write (m < 0: errno says why; 0: the file took nothing). Returns false.
bool FileFailed(Send& s, ssize_t m) {
  s.status = kFileError;
  s.err = m < 0 ? errno : EIO;
  return false;
}

// Writes n bytes to the job's file at its offset (or the file's own position). False, with
// the status set, when the file fails.
bool WriteOut(Send& s, const char* data, size_t n) {
  for (size_t w = 0; w < n;) {
    ssize_t m = s.offset >= 0 ? pwrite(s.file, data + w, n - w, static_cast<off_t>(s.offset)) : write(s.file, data + w, n - w);
    if (m < 0 && errno == EINTR) continue;
    if (m <= 0) return FileFailed(s, m);
    w += static_cast<size_t>(m);
    Wrote(s, m);
  }
  return true;
}

// Moves the n bytes in the pipe to the file. A file that takes no splice (EINVAL) gets them,
// and the rest of the job's bytes, by read + write.
bool MovePiped(Send& s, Pipe& p, size_t n, char* buf) {
  while (n > 0) {
    if (s.splice) {
      loff_t off = static_cast<loff_t>(s.offset);
      ssize_t m = splice(p.r, nullptr, s.file, s.offset >= 0 ? &off : nullptr, n, SPLICE_F_MOVE);
      if (m > 0) {
        Wrote(s, m);
        n -= static_cast<size_t>(m);
        continue;
      }
      if (m < 0 && errno == EINTR) continue;
      if (m < 0 && errno == EINVAL) {  // a file that takes no splice
        s.splice = s.trial.on = false;  // and never tries again
        continue;
      }
      return FileFailed(s, m);
    }
    ssize_t got = read(p.r, buf, n < kReadSize ? n : kReadSize);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return FileFailed(s, got);  // cannot happen: the bytes are in the pipe
    if (!WriteOut(s, buf, static_cast<size_t>(got))) return false;
    n -= static_cast<size_t>(got);
  }
  return true;
}

// MovePiped; when the file fails, the bytes it left in the pipe are the failed job's: gone.
bool FromPipe(Send& s, Pipe& p, size_t n, char* buf) {
  if (MovePiped(s, p, n, buf)) return true;
  EmptyPipe(p, buf);
  return false;
}

// CPU time of the calling thread, ns.
int64_t ThreadNs() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

// Which way the trial moves its next bytes: splice while warming up, then by turns.
bool TrialSplices(int64_t seen) {
  return seen < kTrialWarmUp || ((seen - kTrialWarmUp) / kTrialSlice) % 2 == 0;
}

// Counts one move of the trial; once both ways moved kTrialBytes, keeps the cheaper per byte.
void Tried(Send& s, bool piped, int64_t n, int64_t ns) {
  bool counted = s.trial.seen >= kTrialWarmUp;
  s.trial.seen += n;
  if (!counted) return;
  s.trial.bytes[piped ? 1 : 0] += n;
  s.trial.ns[piped ? 1 : 0] += ns;
  if (s.trial.bytes[0] < kTrialBytes || s.trial.bytes[1] < kTrialBytes) return;
  s.trial.secondWins = SecondCheaper(s.trial, 1.0);
  s.trial.on = false;
  s.trial.next = s.sent.load(std::memory_order_relaxed) + kTrialEvery;
}

// A receive: called on the worker thread with s.m held. Returns true when it finished.
bool Drain(Send& s) {
  char* buf = ThreadBuffer();
  int64_t turn = 0;
  for (;;) {
    int64_t taken = s.sent.load(std::memory_order_relaxed);
    if (s.end >= 0 && taken >= s.end) {
      s.status = kLimit;
      return true;
    }
    if (turn >= kTurn) return false;  // rearm: let the others have a go
    Pipe& p = tPipe;
    if (p.r < 0) s.splice = s.trial.on = false;  // this thread has no pipe
    bool piped = s.splice && p.r >= 0 && (s.trial.on ? TrialSplices(s.trial.seen) : s.trial.secondWins);
    int64_t started = s.trial.on ? ThreadNs() : 0;
    size_t want = piped ? kSpliceSize : kReadSize;
    if (s.end >= 0 && static_cast<int64_t>(want) > s.end - taken) want = static_cast<size_t>(s.end - taken);
    ssize_t n = piped ? splice(s.sock, nullptr, p.w, nullptr, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK) : recv(s.sock, buf, want, MSG_DONTWAIT);
    if (n == 0) {
      // A FIN. A reset that came after it is only seen by a write: an empty send fails
      // with the pending error (ECONNRESET, EPIPE), and then the upload is not complete.
      if (send(s.sock, buf, 0, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN) {
        s.status = kError;
        s.err = errno;
      } else {
        s.status = kDone;
      }
      return true;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      // The pipe is empty when a splice starts, so EAGAIN is the socket's.
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      if (piped && errno == EINVAL) {  // a socket that takes no splice
        s.splice = s.trial.on = false;  // and never tries again
        continue;
      }
      s.status = kError;
      s.err = errno;
      return true;
    }
    if (!(piped ? FromPipe(s, p, static_cast<size_t>(n), buf) : WriteOut(s, buf, static_cast<size_t>(n)))) return true;
    turn += n;
    if (s.trial.on) {
      Tried(s, piped, n, ThreadNs() - started);
    } else if (s.splice && s.trial.next > 0 && s.sent.load(std::memory_order_relaxed) >= s.trial.next) {
      Retry(s.trial, kTrialWarmUp);  // again, without the warm-up; a receive that cannot splice never does
    }
  }
}

void Worker(int epfd, Pipe pipe) {
  tPipe = pipe;
  epoll_event events[64];
  for (;;) {
    int n = epoll_wait(epfd, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < n; i++) {
      uint32_t id = static_cast<uint32_t>(events[i].data.u64);
      if (id == 0) return;  // never registered; defensive
      std::shared_ptr<Send> s;
      {
        std::lock_guard<std::mutex> lock(g->m);
        auto it = g->sends.find(id);
        if (it == g->sends.end()) continue;
        s = it->second;
      }
      std::lock_guard<std::mutex> lock(s->m);
      if (s->status != kActive) continue;
      if (!(s->receive ? Drain(*s) : Pump(*s))) {
        epoll_event ev{};
        ev.events = Readiness(*s);
        ev.data.u64 = id;
        if (epoll_ctl(epfd, EPOLL_CTL_MOD, s->sock, &ev) == 0) continue;
        s->status = kError;
        s->err = errno;
      }
      epoll_ctl(epfd, EPOLL_CTL_DEL, s->sock, nullptr);
      CloseFds(*s);
      {
        std::lock_guard<std::mutex> glock(g->m);
        g->sends.erase(id);
      }
      auto* c = new Completion{id, s->status, s->sent.load(), s->err};
      if (napi_call_threadsafe_function(g->tsfn, c, napi_tsfn_blocking) != napi_ok) delete c;
    }
  }
}

void CallJs(napi_env env, napi_value js_cb, void*, void* data) {
  auto* c = static_cast<Completion*>(data);
  if (env != nullptr && js_cb != nullptr) {
    napi_value args[4], undefined;
    napi_create_uint32(env, c->id, &args[0]);
    napi_create_int32(env, c->status, &args[1]);
    napi_create_double(env, static_cast<double>(c->sent), &args[2]);
    napi_create_int32(env, c->err, &args[3]);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, js_cb, 4, args, nullptr);
  }
  delete c;
}

napi_value Throw(napi_env env, const char* msg) {
  napi_throw_error(env, "FTPKIT_ERR_ZERO_COPY", msg);
  return nullptr;
}

// An integer from `min` (0, or -1 for "none") to 2^53 - 1.
bool GetInt64(napi_env env, napi_value v, int64_t* out, double min = 0) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return false;
  if (!(d >= min) || d > 9007199254740991.0) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

// init(onComplete): starts the worker threads; onComplete(id, status, sent, errno) runs on the loop.
napi_value Init(napi_env env, napi_callback_info info) {
  if (g != nullptr) return Throw(env, "already initialised");
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 1) return Throw(env, "init(onComplete) needs a function");
  napi_value name;
  napi_create_string_utf8(env, "ftpkit-sendfile", NAPI_AUTO_LENGTH, &name);
  auto* st = new State();
  // One thread per core, at most kMaxThreads: a receive copies every byte once, and one
  // thread would hold all uploads to one core.
  unsigned cores = std::thread::hardware_concurrency();
  size_t threads = cores == 0 ? 1 : cores > kMaxThreads ? kMaxThreads : cores;
  for (size_t i = 0; i < threads; i++) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) break;
    st->epfds.push_back(fd);
    st->pipes.push_back(MakePipe());
  }
  auto fail = [&](const char* why) {
    for (int fd : st->epfds) close(fd);
    for (Pipe p : st->pipes) {
      if (p.r >= 0) close(p.r);
      if (p.w >= 0) close(p.w);
    }
    delete st;
    return Throw(env, why);
  };
  if (st->epfds.empty()) return fail("epoll_create1 failed");
  if (napi_create_threadsafe_function(env, argv[0], nullptr, name, 0, static_cast<size_t>(st->epfds.size()), nullptr, nullptr, nullptr, CallJs, &st->tsfn) != napi_ok)
    return fail("cannot create the completion callback");
  // The workers live as long as the process; they must not keep the loop alive by themselves.
  napi_unref_threadsafe_function(env, st->tsfn);
  g = st;
  for (size_t i = 0; i < g->epfds.size(); i++) std::thread(Worker, g->epfds[i], g->pipes[i]).detach();
  return nullptr;
}

// Registers a job with a worker: it runs at its socket's next readiness. Throws (returns
// false) when it cannot; the job's descriptors are closed then.
bool Enlist(napi_env env, const std::shared_ptr<Send>& s, uint32_t* out) {
  uint32_t id;
  {
    std::lock_guard<std::mutex> lock(g->m);
    id = g->next_id++;
    if (g->next_id == 0) g->next_id = 1;
    s->id = id;
    s->epfd = g->epfds[id % g->epfds.size()];  // under the lock: Alone() reads it
    g->sends[id] = s;
  }
  epoll_event ev{};
  ev.events = Readiness(*s);
  ev.data.u64 = id;
  if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->sock, &ev) != 0) {
    std::lock_guard<std::mutex> lock(g->m);
    g->sends.erase(id);
    CloseFds(*s);
    Throw(env, "epoll_ctl failed");
    return false;
  }
  *out = id;
  return true;
}

// Reads a job's arguments (socketFd, fileFd, a, b): two descriptors and two integers from `min`.
bool JobArgs(napi_env env, napi_callback_info info, double min, int32_t* sock, int32_t* file, int64_t* a, int64_t* b) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  return argc >= 4 && napi_get_value_int32(env, argv[0], sock) == napi_ok && napi_get_value_int32(env, argv[1], file) == napi_ok &&
         *sock >= 0 && *file >= 0 && GetInt64(env, argv[2], a, min) && GetInt64(env, argv[3], b, min);
}

// Starts a job on dup()s of the descriptors; returns its id, or throws.
napi_value Launch(napi_env env, int32_t sock, int32_t file, bool receive, int64_t offset, int64_t end, int way = kWayAuto) {
  auto s = std::make_shared<Send>();
  s->sock = fcntl(sock, F_DUPFD_CLOEXEC, 0);
  s->file = fcntl(file, F_DUPFD_CLOEXEC, 0);
  if (s->sock < 0 || s->file < 0) {
    CloseFds(*s);
    return Throw(env, "cannot duplicate the descriptors");
  }
  if (!receive) {
    // Best effort: a failure only costs speed.
    int lowat = kNotSentLowat;
    setsockopt(s->sock, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
  }
  s->receive = receive;
  // splice() on a blocking socket would block the worker thread; Node's sockets never are.
  s->splice = receive && (fcntl(s->sock, F_GETFL) & O_NONBLOCK) != 0;
  s->trial.on = receive ? s->splice : way == kWayAuto;
  s->trial.secondWins = receive;  // splice for a receive, sendfile for a send, until a trial chose
  s->way = way;
  s->offset = offset;
  s->end = end;
  uint32_t id;
  if (!Enlist(env, s, &id)) return nullptr;
  napi_value out;
  napi_create_uint32(env, id, &out);
  return out;
}

// start(socketFd, fileFd, offset, length[, way]) -> id: sends the file's bytes
// [offset, offset+length). `way` (tests): 0 tries sendfile and a copy (the default), 1 only
// sendfile, 2 only a copy.
napi_value Start(napi_env env, napi_callback_info info) {
  if (g == nullptr) return Throw(env, "not initialised");
  int32_t sock, file;
  int64_t offset, length;
  if (!JobArgs(env, info, 0, &sock, &file, &offset, &length))
    return Throw(env, "start(socketFd, fileFd, offset, length) takes non-negative integers");
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t way = kWayAuto;
  napi_valuetype type = napi_undefined;
  if (argc >= 5) napi_typeof(env, argv[4], &type);
  if (type != napi_undefined && (napi_get_value_int32(env, argv[4], &way) != napi_ok || way < kWayAuto || way > kWayCopy))
    return Throw(env, "start(): way is 0, 1 or 2");
  return Launch(env, sock, file, false, offset, offset + length, way);
}

// receive(socketFd, fileFd, position, limit) -> id: writes what the socket brings into the
// file from `position` on (-1: at the file's own position) until the peer's FIN, or until
// `limit` bytes (-1: no limit). progress() counts the bytes written.
napi_value Receive(napi_env env, napi_callback_info info) {
  if (g == nullptr) return Throw(env, "not initialised");
  int32_t sock, file;
  int64_t position, limit;
  if (!JobArgs(env, info, -1, &sock, &file, &position, &limit))
    return Throw(env, "receive(socketFd, fileFd, position, limit) takes integers, -1 for none");
  return Launch(env, sock, file, true, position, limit);
}

std::shared_ptr<Send> Find(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint32_t id = 0;
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &id) != napi_ok || g == nullptr) return nullptr;
  std::lock_guard<std::mutex> lock(g->m);
  auto it = g->sends.find(id);
  return it == g->sends.end() ? nullptr : it->second;
}

// progress(id) -> bytes sent so far, or -1 when the send is no longer running.
napi_value Progress(napi_env env, napi_callback_info info) {
  auto s = Find(env, info);
  napi_value out;
  napi_create_double(env, s ? static_cast<double>(s->sent.load()) : -1.0, &out);
  return out;
}

// cancel(id) -> bytes sent, or -1 when it had already finished (its completion is queued).
// Once it returns, the send's descriptors are closed and nothing more is written.
napi_value Cancel(napi_env env, napi_callback_info info) {
  auto s = Find(env, info);
  double sent = -1;
  if (s) {
    std::lock_guard<std::mutex> lock(s->m);  // waits for a sendfile() of this send in progress
    if (s->status == kActive) {
      epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->sock, nullptr);
      s->status = kCancelled;
      CloseFds(*s);
      sent = static_cast<double>(s->sent.load());
      std::lock_guard<std::mutex> glock(g->m);
      g->sends.erase(s->id);
    }
  }
  napi_value out;
  napi_create_double(env, sent, &out);
  return out;
}

// active() -> sends running (for tests: back to zero after each).
napi_value Active(napi_env env, napi_callback_info) {
  size_t n = 0;
  if (g != nullptr) {
    std::lock_guard<std::mutex> lock(g->m);
    n = g->sends.size();
  }
  napi_value out;
  napi_create_uint32(env, static_cast<uint32_t>(n), &out);
  return out;
}

// copied() -> bytes that sends moved by copy rather than sendfile, since the process began (tests).
napi_value Copied(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_double(env, g != nullptr ? static_cast<double>(g->copied.load()) : 0.0, &out);
  return out;
}

// trim() -> true when memory went back: freed heap pages returned to the system
// (glibc's malloc_trim; a no-op elsewhere). The block pools call it once they dropped
// their blocks and the collector freed them (src/data/block-pool.ts).
napi_value Trim(napi_env env, napi_callback_info) {
  bool released = false;
#if defined(__GLIBC__)
  released = malloc_trim(0) != 0;
#endif
  napi_value out;
  napi_get_boolean(env, released, &out);
  return out;
}

// peerClosed(fd) -> 0: the peer has not closed; 1: it closed (FIN or reset seen by the kernel)
// with nothing left unread; 2: it closed after sending bytes we have not read yet. A kernel
// look, not Node's: a close already queued on a socket whose events the loop has not run yet
// shows here. Atomic uploads ask it about the control connection before committing.
napi_value PeerClosed(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t fd = -1;
  int result = 0;
  if (argc >= 1 && napi_get_value_int32(env, argv[0], &fd) == napi_ok && fd >= 0) {
    pollfd p{};
    p.fd = fd;
    p.events = POLLIN | POLLRDHUP;
    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
      char byte;
      ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      result = n > 0 ? 2 : 1;
    }
  }
  napi_value out;
  napi_create_int32(env, result, &out);
  return out;
}

napi_value Register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"init", nullptr, Init, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"start", nullptr, Start, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"receive", nullptr, Receive, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"progress", nullptr, Progress, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cancel", nullptr, Cancel, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"active", nullptr, Active, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"trim", nullptr, Trim, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"copied", nullptr, Copied, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"peerClosed", nullptr, PeerClosed, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Register)

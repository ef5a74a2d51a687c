// LD_PRELOAD for wrk (which speaks TCP only): its connections to 127.0.0.1:<WRK_UNIX_PORT> become connections to
// the unix socket WRK_UNIX_SOCKET. Only connect() is replaced — once per connection, never per request — so wrk
// then reads and writes the container's own socket with no relay in between. Built by bench/lib.ts with gcc.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  static connect_fn real;
  if (!real) real = (connect_fn)dlsym(RTLD_NEXT, "connect");
  const char *path = getenv("WRK_UNIX_SOCKET");
  const char *port = getenv("WRK_UNIX_PORT");
  if (!path || !port || !addr || addr->sa_family != AF_INET) return real(fd, addr, len);
  const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
  if (in->sin_port != htons((unsigned short)atoi(port)) || in->sin_addr.s_addr != htonl(INADDR_LOOPBACK)) return real(fd, addr, len);
  struct sockaddr_un un;
  memset(&un, 0, sizeof un);
  un.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof un.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(un.sun_path, path);
  int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (u < 0) return -1;
  // Connected while blocking (a unix connect completes at once, or waits for room in the backlog rather than
  // failing with EAGAIN), then given wrk's flags (non-blocking) and put in place of wrk's TCP socket.
  if (real(u, (struct sockaddr *)&un, sizeof un) < 0 || fcntl(u, F_SETFL, fcntl(fd, F_GETFL, 0)) < 0 || dup2(u, fd) < 0) {
    int e = errno;
    close(u);
    errno = e;
    return -1;
  }
  close(u);
  return 0;
}

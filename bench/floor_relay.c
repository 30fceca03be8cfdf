/* floor_relay: the least a user-space proxy can do on this kernel, as a yardstick for the others.
 * A blind TCP relay: epoll, one thread, one read and one write per event, no parsing. When the
 * destination is full the rest waits in a buffer and the source is not read (backpressure).
 *   floor_relay LISTEN_PORT BACKEND_PORT   (both on 127.0.0.1; LISTEN_PORT 0 picks one)
 * Prints {"port":N} when it listens. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 65536

struct side {
  int fd;
  struct side *peer;
  char *pending; /* bytes read from peer that fd could not take yet */
  size_t off, len;
};

static int ep;
static char buf[BUF];

static void nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void watch(struct side *s, int op, unsigned events) {
  struct epoll_event ev = {.events = events, .data.ptr = s};
  epoll_ctl(ep, op, s->fd, &ev);
}

/* Pairs closed during one epoll_wait batch are freed after it: the batch may still hold an event
 * for the other side. */
static struct side *graveyard[512];
static int buried;

static void close_pair(struct side *s) {
  struct side *p = s->peer;
  if (s->fd < 0) return;
  close(s->fd);
  close(p->fd);
  s->fd = p->fd = -1;
  free(s->pending);
  free(p->pending);
  s->pending = p->pending = NULL;
  graveyard[buried++] = s < p ? s : p; /* both sides live in one allocation */
}

/* Bytes read from `from` go to `to`; what `to` cannot take now waits in to->pending. */
static int forward(struct side *from) {
  struct side *to = from->peer;
  ssize_t n = read(from->fd, buf, BUF);
  if (n == 0 || (n < 0 && errno != EAGAIN)) return -1;
  if (n < 0) return 0;
  ssize_t w = write(to->fd, buf, (size_t)n);
  if (w < 0 && errno != EAGAIN) return -1;
  if (w < 0) w = 0;
  if (w < n) {
    to->pending = malloc((size_t)(n - w));
    memcpy(to->pending, buf + w, (size_t)(n - w));
    to->off = 0;
    to->len = (size_t)(n - w);
    watch(from, EPOLL_CTL_MOD, 0);        /* stop reading the source */
    watch(to, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT);
  }
  return 0;
}

static int flush(struct side *s) {
  ssize_t w = write(s->fd, s->pending + s->off, s->len - s->off);
  if (w < 0) return errno == EAGAIN ? 0 : -1;
  s->off += (size_t)w;
  if (s->off == s->len) {
    free(s->pending);
    s->pending = NULL;
    watch(s, EPOLL_CTL_MOD, EPOLLIN);
    watch(s->peer, EPOLL_CTL_MOD, EPOLLIN); /* read the source again */
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: floor_relay LISTEN_PORT BACKEND_PORT\n");
    return 2;
  }
  struct sockaddr_in listen_addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
  struct sockaddr_in backend = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  inet_pton(AF_INET, "127.0.0.1", &listen_addr.sin_addr);
  inet_pton(AF_INET, "127.0.0.1", &backend.sin_addr);
  int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, (struct sockaddr *)&listen_addr, sizeof listen_addr) || listen(lfd, 4096)) {
    perror("listen");
    return 1;
  }
  socklen_t alen = sizeof listen_addr;
  getsockname(lfd, (struct sockaddr *)&listen_addr, &alen);
  printf("{\"port\":%d}\n", ntohs(listen_addr.sin_port));
  fflush(stdout);
  ep = epoll_create1(0);
  struct side listener = {.fd = lfd};
  watch(&listener, EPOLL_CTL_ADD, EPOLLIN);
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      struct side *s = events[i].data.ptr;
      if (s == &listener) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) continue;
        int bfd = socket(AF_INET, SOCK_STREAM, 0);
        /* A blocking connect on loopback costs one round trip and keeps this file short. */
        if (connect(bfd, (struct sockaddr *)&backend, sizeof backend)) {
          close(cfd);
          close(bfd);
          continue;
        }
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(bfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        nonblock(cfd);
        nonblock(bfd);
        struct side *pair = calloc(2, sizeof *pair);
        pair[0] = (struct side){.fd = cfd, .peer = &pair[1]};
        pair[1] = (struct side){.fd = bfd, .peer = &pair[0]};
        watch(&pair[0], EPOLL_CTL_ADD, EPOLLIN);
        watch(&pair[1], EPOLL_CTL_ADD, EPOLLIN);
        continue;
      }
      if (s->fd < 0) continue; /* closed earlier in this batch */
      int rc = 0;
      if ((events[i].events & EPOLLOUT) && s->pending) rc = flush(s);
      if (rc == 0 && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !s->peer->pending)
        rc = forward(s);
      if (rc < 0) close_pair(s);
    }
    while (buried > 0) free(graveyard[--buried]);
  }
}

/* srv_net.c - sockets for `omnidex serve`: one event thread owns every
 * connection while its request head (and any small body) arrives, under a
 * deadline, so slow or idle clients cost a slot and no thread; a complete
 * request goes to a fixed pool of worker threads (srv_http.c answers it),
 * and a kept-alive connection comes back here. srv_proto.c parses. */
#define _GNU_SOURCE /* accept4, pipe2, MSG_MORE */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINGER_S 2.0 /* reading what a refused client still sends */

struct srv_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    srv_conn *head, *tail;
    int n, cap; /* cap 0: unbounded */
    bool stop;
    srv_job_fn fn;
    void *user;
    pthread_t *th;
    int n_th;
};

struct srv_net {
    int lfd, wake[2];
    srv_pool *workers;
    pthread_t loop;
    bool loop_started;
    pthread_mutex_t mu; /* guards back, n_open, stop */
    srv_conn *back;     /* connections handed back by workers */
    int n_open;
    bool stop;
    double accept_pause; /* event thread: no accept() before this */
    srv_conn *conns[SRV_MAX_CONNS]; /* owned by the event thread */
    int n_conns;
};

double srv_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ pools ---- */

static void *pool_main(void *arg)
{
    srv_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->head)
            break; /* stopping and nothing left */
        srv_conn *c = p->head;
        p->head = c->next;
        if (!p->head)
            p->tail = NULL;
        p->n--;
        c->next = NULL;
        bool stopping = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stopping) {
            c->close_after = true;
            srv_conn_done(c);
        } else {
            p->fn(p->user, c);
        }
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

srv_pool *srv_pool_start(int threads, int cap, srv_job_fn fn, void *user)
{
    srv_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->cap = cap;
    p->fn = fn;
    p->user = user;
    p->th = calloc((size_t)threads, sizeof *p->th);
    if (!p->th) {
        srv_pool_stop(p);
        return NULL;
    }
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->th[i], NULL, pool_main, p) != 0) {
            srv_pool_stop(p);
            return NULL;
        }
        p->n_th++;
    }
    return p;
}

bool srv_pool_push(srv_pool *p, srv_conn *c)
{
    pthread_mutex_lock(&p->mu);
    bool ok = !p->stop && (p->cap == 0 || p->n < p->cap);
    if (ok) {
        c->next = NULL;
        if (p->tail)
            p->tail->next = c;
        else
            p->head = c;
        p->tail = c;
        p->n++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

void srv_pool_stop(srv_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_th; i++)
        pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->th);
    free(p);
}

/* ------------------------------------------------------ connections ---- */

static void conn_free(srv_conn *c)
{
    srv_net *n = c->net;
    if (c->fd >= 0)
        close(c->fd);
    srv_req_free(&c->req);
    free(c->body);
    free(c->buf);
    free(c);
    pthread_mutex_lock(&n->mu);
    n->n_open--;
    pthread_mutex_unlock(&n->mu);
}

/* Best effort, never blocks: for answers the event thread gives itself. */
static void send_now(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static size_t error_response(char *out, size_t out_len, int status, const char *code,
                             const char *msg)
{
    char body[400];
    int bn = snprintf(body, sizeof body, "{\"error\":\"%s\",\"message\":\"%s\"}\n", code, msg);
    int n = snprintf(out, out_len,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
                     "Content-Length: %d\r\nConnection: close\r\nCache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n%s\r\n%s",
                     status, srv_status_reason(status), bn,
                     status == 503 ? "Retry-After: 1\r\n" : "", body);
    return n > 0 && (size_t)n < out_len ? (size_t)n : 0;
}

static int sock_wait(int fd, short ev, double deadline)
{
    for (;;) {
        double left = deadline - srv_now();
        if (left <= 0)
            return 0;
        struct pollfd pf = {.fd = fd, .events = ev};
        int r = poll(&pf, 1, (int)(left * 1000) + 1);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

static bool send_all(int fd, const void *buf, size_t len, double deadline, bool more)
{
    const char *p = buf;
    while (len) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT | (more ? MSG_MORE : 0));
        if (w > 0) {
            p += w;
            len -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (sock_wait(fd, POLLOUT, deadline) <= 0)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

const char *srv_status_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

bool srv_send(srv_conn *c, int status, const char *ctype, const char *extra, const void *body,
              size_t len, bool head_only)
{
    srv_net *n = c->net;
    pthread_mutex_lock(&n->mu);
    /* Keep-alive only while there is room: near the connection limit a
     * finished client makes way for a new one. */
    bool crowded = n->n_open > SRV_MAX_CONNS * 3 / 4 || n->stop;
    pthread_mutex_unlock(&n->mu);
    if (c->bad || !c->req.keep_alive || crowded || status >= 500 || status == 413)
        c->close_after = true;
    char head[2048]; /* status line, fixed fields and up to 1.5 KiB of extra ones */
    int hn = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %zu\r\nConnection: %s\r\n"
                      "X-Content-Type-Options: nosniff\r\n%s\r\n",
                      status, srv_status_reason(status), ctype ? "Content-Type: " : "",
                      ctype ? ctype : "", ctype ? "\r\n" : "", len,
                      c->close_after ? "close" : "keep-alive", extra ? extra : "");
    c->status = status;
    c->bytes_out = head_only ? 0 : len;
    if (hn <= 0 || (size_t)hn >= sizeof head) {
        c->close_after = true;
        return false;
    }
    double deadline = srv_now() + SRV_WRITE_TIMEOUT_S;
    bool with_body = !head_only && len > 0;
    if (!send_all(c->fd, head, (size_t)hn, deadline, with_body) ||
        (with_body && !send_all(c->fd, body, len, deadline, false))) {
        c->close_after = true;
        c->write_failed = true;
        return false;
    }
    return true;
}

bool srv_write(srv_conn *c, const void *buf, size_t len)
{
    if (c->write_failed)
        return false;
    if (!send_all(c->fd, buf, len, srv_now() + SRV_WRITE_TIMEOUT_S, false)) {
        c->close_after = true;
        c->write_failed = true;
        return false;
    }
    c->bytes_out += len;
    return true;
}

void srv_conn_done(srv_conn *c)
{
    srv_net *n = c->net;
    srv_req_free(&c->req);
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_want = 0;
    c->bad = false;
    c->user = NULL;
    pthread_mutex_lock(&n->mu);
    bool stop = n->stop;
    if (!stop) {
        if (c->close_after && !c->write_failed) {
            /* Lingering close: stop sending, read what the client still
             * sends for a moment, so the kernel does not answer its bytes
             * with a reset that destroys our answer unread. */
            shutdown(c->fd, SHUT_WR);
            c->lingering = true;
            c->deadline = srv_now() + LINGER_S;
        } else if (!c->close_after) {
            c->deadline = srv_now() + (c->len ? SRV_HEAD_TIMEOUT_S : SRV_IDLE_TIMEOUT_S);
        }
        if (!c->close_after || c->lingering) {
            c->next = n->back;
            n->back = c;
            pthread_mutex_unlock(&n->mu);
            char b = 1;
            ssize_t w = write(n->wake[1], &b, 1);
            (void)w; /* a full pipe has a wake-up pending already */
            return;
        }
    }
    pthread_mutex_unlock(&n->mu);
    conn_free(c);
}

/* ------------------------------------------------------- event loop ---- */

static void loop_drop(srv_net *n, int i)
{
    conn_free(n->conns[i]);
    n->conns[i] = n->conns[--n->n_conns];
}

/* Hands conns[i] to the workers (it leaves the event thread's set). */
static void loop_dispatch(srv_net *n, int i)
{
    srv_conn *c = n->conns[i];
    n->conns[i] = n->conns[--n->n_conns];
    c->t0 = srv_now();
    if (!srv_pool_push(n->workers, c)) {
        c->close_after = true;
        srv_conn_done(c);
    }
}

/* Looks at what conns[i] has received. Returns true when it left the set. */
static bool loop_process(srv_net *n, int i)
{
    srv_conn *c = n->conns[i];
    if (c->body && c->body_len < c->body_want) {
        size_t want = c->body_want - c->body_len;
        size_t d = c->len < want ? c->len : want;
        memcpy(c->body + c->body_len, c->buf, d);
        memmove(c->buf, c->buf + d, c->len - d);
        c->len -= d;
        c->body_len += d;
        if (c->body_len < c->body_want)
            return false;
        c->body[c->body_len] = 0;
        loop_dispatch(n, i);
        return true;
    }
    if (c->discard > 0) {
        size_t d = c->len < (size_t)c->discard ? c->len : (size_t)c->discard;
        memmove(c->buf, c->buf + d, c->len - d);
        c->len -= d;
        c->discard -= (long long)d;
        if (c->discard > 0)
            return false;
        loop_dispatch(n, i);
        return true;
    }
    if (c->len == 0)
        return false;
    if (!c->started) {
        c->started = true;
        c->deadline = srv_now() + SRV_HEAD_TIMEOUT_S;
    }
    int rc = srv_proto_parse(c->buf, c->len, &c->req, &c->perr);
    if (rc == 0)
        return false;
    c->started = false;
    if (rc < 0) {
        c->bad = true;
        c->len = 0;
        loop_dispatch(n, i);
        return true;
    }
    memmove(c->buf, c->buf + rc, c->len - (size_t)rc);
    c->len -= (size_t)rc;
    long long cl = c->req.content_length;
    if (cl > SRV_MAX_BODY) {
        c->bad = true;
        c->perr.status = 413;
        c->perr.code = "too_large";
        snprintf(c->perr.msg, sizeof c->perr.msg,
                 "request bodies are limited to %d KiB (only POST /ask takes one)",
                 SRV_MAX_BODY / 1024);
        loop_dispatch(n, i);
        return true;
    }
    if (cl > 0 && strcmp(c->req.method, "POST") == 0) {
        /* kept for the handler (POST /ask), at most SRV_MAX_BODY bytes,
         * under the same deadline as a head */
        if (!(c->body = malloc((size_t)cl + 1))) {
            c->bad = true;
            c->perr.status = 503;
            c->perr.code = "unavailable";
            snprintf(c->perr.msg, sizeof c->perr.msg, "no memory for the request body");
            c->close_after = true;
            loop_dispatch(n, i);
            return true;
        }
        c->body_len = 0;
        c->body_want = (size_t)cl;
        if (c->req.expect_continue) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            send_now(c->fd, cont, sizeof cont - 1);
        }
        c->deadline = srv_now() + SRV_HEAD_TIMEOUT_S;
        return loop_process(n, i);
    }
    if (cl > 0 && c->req.expect_continue) {
        /* the client waits for a 100 before sending the body: answer at
         * once instead, and close, since the body may still come */
        c->close_after = true;
        loop_dispatch(n, i);
        return true;
    }
    if (cl > 0) {
        c->discard = cl;
        c->deadline = srv_now() + SRV_HEAD_TIMEOUT_S;
        return loop_process(n, i);
    }
    loop_dispatch(n, i);
    return true;
}

/* Reads what conns[i] has. Returns true when it left the set. */
static bool loop_read(srv_net *n, int i)
{
    srv_conn *c = n->conns[i];
    for (;;) {
        if (c->lingering) {
            char junk[4096];
            ssize_t r = recv(c->fd, junk, sizeof junk, MSG_DONTWAIT);
            if (r > 0)
                continue;
            if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return false;
            if (r < 0 && errno == EINTR)
                continue;
            loop_drop(n, i);
            return true;
        }
        if (c->cap - c->len < 1024) {
            size_t ncap = c->cap ? c->cap * 2 : 4096;
            if (ncap > SRV_MAX_HEAD + 4096)
                ncap = SRV_MAX_HEAD + 4096;
            if (ncap <= c->len) {
                /* a full buffer the parser did not refuse cannot happen:
                 * SRV_MAX_HEAD bounds a head */
                loop_drop(n, i);
                return true;
            }
            char *nb = realloc(c->buf, ncap);
            if (!nb) {
                loop_drop(n, i);
                return true;
            }
            c->buf = nb;
            c->cap = ncap;
        }
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return false;
        if (r <= 0) {
            loop_drop(n, i); /* closed (or reset) before a whole request */
            return true;
        }
        c->len += (size_t)r;
        if (loop_process(n, i))
            return true;
    }
}

static void loop_accept(srv_net *n)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(n->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            /* out of descriptors: the listening socket stays readable, so
             * leave it out of poll for a moment instead of spinning */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                n->accept_pause = srv_now() + 0.1;
            return; /* EAGAIN: all taken */
        }
        pthread_mutex_lock(&n->mu);
        bool full = n->n_open >= SRV_MAX_CONNS || n->n_conns >= SRV_MAX_CONNS;
        if (!full)
            n->n_open++;
        pthread_mutex_unlock(&n->mu);
        srv_conn *c = full ? NULL : calloc(1, sizeof *c);
        if (!c) {
            char resp[600];
            size_t rn = error_response(resp, sizeof resp, 503, "unavailable",
                                       "too many open connections; try again");
            send_now(fd, resp, rn);
            close(fd);
            if (!full) {
                pthread_mutex_lock(&n->mu);
                n->n_open--;
                pthread_mutex_unlock(&n->mu);
            }
            continue;
        }
        c->net = n;
        c->fd = fd;
        c->deadline = srv_now() + SRV_HEAD_TIMEOUT_S;
        if (ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->peer, sizeof c->peer);
        else if (ss.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->peer,
                      sizeof c->peer);
        n->conns[n->n_conns++] = c;
    }
}

/* A deadline passed: an unfinished request gets a 408, an idle one is closed. */
static void loop_expire(srv_net *n, int i)
{
    srv_conn *c = n->conns[i];
    if (!c->lingering && (c->len > 0 || c->discard > 0 || c->body)) {
        char resp[600];
        size_t rn = error_response(resp, sizeof resp, 408, "timeout",
                                   "the request did not arrive in time");
        send_now(c->fd, resp, rn);
    }
    loop_drop(n, i);
}

static void *loop_main(void *arg)
{
    srv_net *n = arg;
    struct pollfd *pf = calloc(SRV_MAX_CONNS + 2, sizeof *pf);
    srv_conn **seen = calloc(SRV_MAX_CONNS, sizeof *seen);
    if (!pf || !seen) {
        free(pf);
        free(seen);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&n->mu);
        bool stop = n->stop;
        srv_conn *back = n->back;
        n->back = NULL;
        pthread_mutex_unlock(&n->mu);
        /* handed back by workers: requests already buffered are parsed now */
        while (back) {
            srv_conn *c = back;
            back = c->next;
            c->next = NULL;
            if (stop || n->n_conns >= SRV_MAX_CONNS) {
                conn_free(c);
                continue;
            }
            n->conns[n->n_conns++] = c;
            if (!c->lingering)
                loop_process(n, n->n_conns - 1);
        }
        if (stop)
            break;
        double now = srv_now(), next = now + 1.0;
        for (int i = 0; i < n->n_conns;) {
            if (n->conns[i]->deadline <= now) {
                loop_expire(n, i);
                continue;
            }
            if (n->conns[i]->deadline < next)
                next = n->conns[i]->deadline;
            i++;
        }
        int np = 0;
        pf[np++] = (struct pollfd){.fd = n->wake[0], .events = POLLIN};
        bool paused = n->accept_pause > now;
        if (paused && n->accept_pause < next)
            next = n->accept_pause;
        /* fd -1: poll ignores the entry */
        pf[np++] = (struct pollfd){.fd = paused ? -1 : n->lfd, .events = POLLIN};
        int nc = n->n_conns;
        for (int i = 0; i < nc; i++) {
            pf[np++] = (struct pollfd){.fd = n->conns[i]->fd, .events = POLLIN};
            seen[i] = n->conns[i];
        }
        int r = poll(pf, (nfds_t)np, (int)((next - now) * 1000) + 1);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        if (pf[0].revents) {
            char junk[256];
            while (read(n->wake[0], junk, sizeof junk) > 0)
                ;
        }
        /* conns[] changes while we read (swap-removal), so each ready
         * connection is looked up by identity. */
        for (int k = 0; k < nc; k++) {
            if (!pf[k + 2].revents)
                continue;
            for (int i = 0; i < n->n_conns; i++)
                if (n->conns[i] == seen[k]) {
                    loop_read(n, i);
                    break;
                }
        }
        if (pf[1].revents)
            loop_accept(n);
    }
    while (n->n_conns)
        loop_drop(n, n->n_conns - 1);
    free(pf);
    free(seen);
    return NULL;
}

/* ------------------------------------------------------------ start ---- */

odx_status srv_net_start(const char *addr, int port, int threads, srv_job_fn fn, void *user,
                         srv_net **out, int *bound_port, odx_err *err)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        sl = sizeof *a4;
    } else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        sl = sizeof *a6;
    } else {
        return srv_err(err, ODX_ERR_INVALID, "'%s' is not a numeric IPv4 or IPv6 address", addr);
    }
    srv_net *n = calloc(1, sizeof *n);
    if (!n)
        return srv_err(err, ODX_ERR_NOMEM, "no memory");
    pthread_mutex_init(&n->mu, NULL);
    n->wake[0] = n->wake[1] = -1;
    n->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (n->lfd < 0) {
        srv_err(err, ODX_ERR_IO, "cannot create a socket: %s", strerror(errno));
        goto fail;
    }
    setsockopt(n->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(n->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(n->lfd, (struct sockaddr *)&ss, sl) != 0 || listen(n->lfd, 256) != 0) {
        srv_err(err, ODX_ERR_IO, "cannot listen on %s port %d: %s", addr, port,
                strerror(errno));
        goto fail;
    }
    if (pipe2(n->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        srv_err(err, ODX_ERR_IO, "cannot create a pipe: %s", strerror(errno));
        goto fail;
    }
    n->workers = srv_pool_start(threads, 0, fn, user);
    if (!n->workers) {
        srv_err(err, ODX_ERR_NOMEM, "cannot start %d request threads", threads);
        goto fail;
    }
    if (pthread_create(&n->loop, NULL, loop_main, n) != 0) {
        srv_err(err, ODX_ERR_NOMEM, "cannot start the connection thread");
        goto fail;
    }
    n->loop_started = true;
    if (bound_port) {
        struct sockaddr_storage b;
        socklen_t bl = sizeof b;
        *bound_port = port;
        if (getsockname(n->lfd, (struct sockaddr *)&b, &bl) == 0)
            *bound_port = ntohs(b.ss_family == AF_INET ? ((struct sockaddr_in *)&b)->sin_port
                                                       : ((struct sockaddr_in6 *)&b)->sin6_port);
    }
    *out = n;
    return ODX_OK;
fail:
    srv_net_stop(n);
    srv_net_free(n);
    return err ? err->code : ODX_ERR_IO;
}

void srv_net_stop(srv_net *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->stop = true;
    pthread_mutex_unlock(&n->mu);
    if (n->wake[1] >= 0) {
        char b = 1;
        ssize_t w = write(n->wake[1], &b, 1);
        (void)w;
    }
    if (n->loop_started) {
        pthread_join(n->loop, NULL);
        n->loop_started = false;
    }
    srv_pool_stop(n->workers); /* requests in flight finish */
    n->workers = NULL;
}

void srv_net_free(srv_net *n)
{
    if (!n)
        return;
    /* connections handed back after the loop stopped */
    while (n->back) {
        srv_conn *c = n->back;
        n->back = c->next;
        conn_free(c);
    }
    if (n->lfd >= 0)
        close(n->lfd);
    if (n->wake[0] >= 0)
        close(n->wake[0]);
    if (n->wake[1] >= 0)
        close(n->wake[1]);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

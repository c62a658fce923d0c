/* TCP and TLS for the Linux example (see net.h). */
#define _POSIX_C_SOURCE 200809L
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "mfp_oauth.h"

static SSL_CTX *tls_ctx;

uint64_t clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Milliseconds left until `deadline_ms`, as poll() takes them. */
static int wait_ms(uint64_t deadline_ms) {
  if (deadline_ms == MFP_OAUTH_NO_DEADLINE) return -1;
  uint64_t now = clock_ms();
  if (now >= deadline_ms) return 0;
  uint64_t left = deadline_ms - now;
  return left > 60000 ? 60000 : (int)left;
}

static int wait_fd(int fd, short events, uint64_t deadline_ms) {
  for (;;) {
    struct pollfd p = {fd, events, 0};
    int ms = wait_ms(deadline_ms);
    int r = poll(&p, 1, ms);
    if (r > 0) return 1;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (ms >= 0 && clock_ms() >= deadline_ms) return 0;
  }
}

uint32_t net_tls_init(const char *ca_file) {
  tls_ctx = SSL_CTX_new(TLS_client_method());
  if (!tls_ctx) return MFP_OAUTH_STATUS_TLS_HANDSHAKE_FAILED;
  SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
  SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  int ok = ca_file && *ca_file ? SSL_CTX_load_verify_locations(tls_ctx, ca_file, NULL)
                               : SSL_CTX_set_default_verify_paths(tls_ctx);
  if (ok != 1) {
    fprintf(stderr, "net: cannot load the trusted certificates %s\n", ca_file ? ca_file : "");
    return MFP_OAUTH_STATUS_CERTIFICATE_UNTRUSTED;
  }
  return MFP_OAUTH_STATUS_OK;
}

void net_tls_free(void) {
  SSL_CTX_free(tls_ctx);
  tls_ctx = NULL;
}

uint32_t net_connect(net_conn *c, const char *host, uint16_t port, int tls, uint64_t timeout_ms) {
  c->fd = -1;
  c->ssl = NULL;
  uint64_t deadline = clock_ms() + timeout_ms;
  char service[8];
  snprintf(service, sizeof service, "%u", (unsigned)port);
  struct addrinfo hints, *list = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, service, &hints, &list) != 0 || !list) return MFP_OAUTH_STATUS_DNS_FAILED;
  uint32_t diag = MFP_OAUTH_STATUS_CONNECT_FAILED;
  for (struct addrinfo *a = list; a && c->fd < 0; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      close(fd);
      continue;
    }
    int w = wait_fd(fd, POLLOUT, deadline);
    int err = 0;
    socklen_t len = sizeof err;
    if (w == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
      c->fd = fd;
    } else {
      if (w == 0) diag = MFP_OAUTH_STATUS_NETWORK_TIMEOUT;
      close(fd);
    }
  }
  freeaddrinfo(list);
  if (c->fd < 0) return diag;
  if (tls) {
    uint32_t st = net_start_tls(c, host, deadline > clock_ms() ? deadline - clock_ms() : 1);
    if (st != MFP_OAUTH_STATUS_OK) {
      net_close(c);
      return st;
    }
  }
  return MFP_OAUTH_STATUS_OK;
}

/* Why the handshake failed, as the library's diagnostics name it. */
static uint32_t handshake_diag(SSL *ssl) {
  long v = SSL_get_verify_result(ssl);
  switch (v) {
    case X509_V_OK: break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID: return MFP_OAUTH_STATUS_CERTIFICATE_EXPIRED;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return MFP_OAUTH_STATUS_CERTIFICATE_WRONG_NAME;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return MFP_OAUTH_STATUS_CERTIFICATE_UNTRUSTED;
    default: return MFP_OAUTH_STATUS_CERTIFICATE_INVALID;
  }
  unsigned long e = ERR_peek_last_error();
  if (ERR_GET_LIB(e) == ERR_LIB_SSL && (ERR_GET_REASON(e) == SSL_R_UNSUPPORTED_PROTOCOL ||
                                        ERR_GET_REASON(e) == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION))
    return MFP_OAUTH_STATUS_TLS_VERSION_MISMATCH;
  return MFP_OAUTH_STATUS_TLS_HANDSHAKE_FAILED;
}

uint32_t net_start_tls(net_conn *c, const char *host, uint64_t timeout_ms) {
  uint64_t deadline = clock_ms() + timeout_ms;
  SSL *ssl = SSL_new(tls_ctx);
  if (!ssl) return MFP_OAUTH_STATUS_TLS_HANDSHAKE_FAILED;
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  /* A peer that closes without close_notify reads as a close: the
   * protocols on top (HTTP Content-Length, SMTP replies) frame the data. */
  SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
  unsigned char ip[16];
  if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host); /* no SNI for an address */
  } else {
    SSL_set_tlsext_host_name(ssl, host);
    SSL_set1_host(ssl, host);
  }
  /* The handshake reads from the socket only: nothing that arrived in
   * plaintext before it (after the 220 to STARTTLS) is ever fed to TLS. */
  SSL_set_fd(ssl, c->fd);
  for (;;) {
    ERR_clear_error();
    int r = SSL_connect(ssl);
    if (r == 1) break;
    int e = SSL_get_error(ssl, r);
    int w = 0;
    if (e == SSL_ERROR_WANT_READ) w = wait_fd(c->fd, POLLIN, deadline);
    else if (e == SSL_ERROR_WANT_WRITE) w = wait_fd(c->fd, POLLOUT, deadline);
    else w = -1;
    if (w != 1) {
      uint32_t diag = w == 0 ? MFP_OAUTH_STATUS_NETWORK_TIMEOUT : handshake_diag(ssl);
      SSL_free(ssl);
      return diag;
    }
  }
  c->ssl = ssl;
  return MFP_OAUTH_STATUS_OK;
}

uint32_t net_send(net_conn *c, const uint8_t *data, size_t len, uint64_t timeout_ms) {
  uint64_t deadline = clock_ms() + timeout_ms;
  while (len > 0) {
    long n;
    int want = POLLOUT;
    if (c->ssl) {
      ERR_clear_error();
      int r = SSL_write(c->ssl, data, len > 65536 ? 65536 : (int)len);
      n = r;
      if (r <= 0) {
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ) want = POLLIN;
        else if (e != SSL_ERROR_WANT_WRITE) return MFP_OAUTH_STATUS_IO_ERROR;
        n = 0;
      }
    } else {
      n = send(c->fd, data, len, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return MFP_OAUTH_STATUS_IO_ERROR;
      if (n < 0) n = 0;
    }
    data += n;
    len -= (size_t)n;
    if (len > 0 && n == 0) {
      int w = wait_fd(c->fd, (short)want, deadline);
      if (w == 0) return MFP_OAUTH_STATUS_NETWORK_TIMEOUT;
      if (w < 0) return MFP_OAUTH_STATUS_IO_ERROR;
    }
  }
  return MFP_OAUTH_STATUS_OK;
}

long net_recv(net_conn *c, uint8_t *buf, size_t cap, uint64_t deadline_ms) {
  for (;;) {
    int want = POLLIN;
    if (c->ssl) {
      ERR_clear_error();
      int r = SSL_read(c->ssl, buf, cap > 65536 ? 65536 : (int)cap);
      if (r > 0) return r;
      int e = SSL_get_error(c->ssl, r);
      if (e == SSL_ERROR_ZERO_RETURN) return -1;
      if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return -1; /* EOF */
      if (e == SSL_ERROR_WANT_WRITE) want = POLLOUT;
      else if (e != SSL_ERROR_WANT_READ) return -2;
    } else {
      ssize_t r = recv(c->fd, buf, cap, 0);
      if (r > 0) return (long)r;
      if (r == 0) return -1;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -2;
    }
    int w = wait_fd(c->fd, (short)want, deadline_ms);
    if (w == 0) return 0;
    if (w < 0) return -2;
  }
}

void net_close(net_conn *c) {
  if (c->ssl) {
    SSL_shutdown(c->ssl); /* one close_notify, no waiting for the peer's */
    SSL_free(c->ssl);
    c->ssl = NULL;
  }
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

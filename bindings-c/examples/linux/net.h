/* The printer's network layer on Linux: blocking TCP sockets with
 * deadlines (poll), TLS with OpenSSL, STARTTLS on a live socket.
 * Every failure is returned as an mfp-oauth network diagnostic (6xx), so
 * that it can be handed to the library as it is (connect_failed,
 * handle_transport_error, cancel). */
#ifndef MFP_LINUX_NET_H
#define MFP_LINUX_NET_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

typedef struct {
  int fd;   /* -1: closed */
  SSL *ssl; /* NULL: plaintext */
} net_conn;

/* Monotonic milliseconds (the library's `now_ms`). */
uint64_t clock_ms(void);

/* The TLS context: trusts only `ca_file` (a PEM bundle) when given, else
 * the system's roots; TLS 1.2 and 1.3 only. Returns 0 or a diagnostic. */
uint32_t net_tls_init(const char *ca_file);
void net_tls_free(void);

/* Opens a TCP connection to host:port within `timeout_ms`; with `tls`,
 * the TLS handshake follows (implicit TLS, HTTPS). Returns 0 or E601,
 * E602, E603, E604, E605, E607, E608, E609. */
uint32_t net_connect(net_conn *c, const char *host, uint16_t port, int tls, uint64_t timeout_ms);

/* Starts TLS on the open plaintext connection (STARTTLS): the caller has
 * dropped every plaintext octet it holds that followed the server's `220`
 * (those were never part of TLS and must never reach it); the handshake
 * reads only from the socket. Returns 0 or a 6xx diagnostic. */
uint32_t net_start_tls(net_conn *c, const char *host, uint64_t timeout_ms);

/* Writes all `len` octets (within `timeout_ms`). Returns 0 or E605/E606. */
uint32_t net_send(net_conn *c, const uint8_t *data, size_t len, uint64_t timeout_ms);

/* Reads what has arrived, waiting until `deadline_ms` at most
 * (UINT64_MAX: no deadline). Returns the octets read (> 0), 0 at the
 * deadline, -1 when the peer closed the connection, -2 on an error. */
long net_recv(net_conn *c, uint8_t *buf, size_t cap, uint64_t deadline_ms);

void net_close(net_conn *c);

#endif

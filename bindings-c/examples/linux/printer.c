/* The mailer driven on Linux (see printer.h): every call of the C API a
 * firmware makes for power-on, Acquire and a scan-to-email job, with the
 * network (net.c) and the flash (flash.c) of this example. */
#define _POSIX_C_SOURCE 200809L
#include "printer.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "flash.h"
#include "net.h"

#define EHLO_NAME "mfp-linux.example.test"
#define CONNECT_TIMEOUT_MS 15000u
#define SEND_TIMEOUT_MS 180000u /* RFC 5321 4.5.3.2: 3 minutes per send of the body */

/* The device's memory: static, as on a printer (no heap in the library). */
static mfp_oauth_mailer mailer;         /* 40 KB: settings, token store, SMTP session */
/* One slot per user kept signed in at once (2.4 KB each). */
static mfp_oauth_user_slot users[MFP_OAUTH_MAX_USER_SLOTS];
static mfp_oauth_token_client tokens;   /* 14 KB: one token-endpoint flow */
static mfp_oauth_mime mime;             /* the message composer */
static uint8_t slots[2][MFP_OAUTH_NV_IMAGE_MAX_LEN];
static uint8_t image[MFP_OAUTH_NV_IMAGE_MAX_LEN];
static uint8_t device_key[MFP_OAUTH_DEVICE_KEY_LEN];
static int mailer_live;

static uint64_t wall_s(void) { return (uint64_t)time(NULL); }

void printer_show(const char *what, uint32_t diag) {
  char name[64], message[256], remedy[512];
  size_t n;
  if (mfp_oauth_diag_name(diag, name, sizeof name, &n) != MFP_OAUTH_STATUS_OK) name[0] = 0;
  if (mfp_oauth_diag_message(diag, MFP_OAUTH_LANG_EN, message, sizeof message, &n) !=
      MFP_OAUTH_STATUS_OK)
    snprintf(message, sizeof message, "%s", mfp_oauth_status_str(diag));
  if (mfp_oauth_diag_remedy(diag, MFP_OAUTH_LANG_EN, remedy, sizeof remedy, &n) !=
      MFP_OAUTH_STATUS_OK)
    remedy[0] = 0;
  printf("%s: E%u %s: %s\n", what, (unsigned)diag, name, message);
  if (remedy[0]) printf("  remedy: %s\n", remedy);
}

/* ---- persistence ------------------------------------------------------- */

/* A PERSIST step: the image goes to the slot the mailer names; once it is
 * written and verified the mailer is told, and the other slot is erased
 * when a secret left (no old refresh token stays in flash). */
static uint32_t persist(int erase_other) {
  uint8_t random[MFP_OAUTH_SEAL_RANDOM_LEN];
  size_t n = 0;
  mfp_oauth_nv_slot slot = 0;
  uint32_t seq = 0;
  if (random_bytes(random, sizeof random) != 0) return MFP_OAUTH_STATUS_STORAGE_FAULT;
  mfp_oauth_status st = mfp_oauth_mailer_save(&mailer, device_key, random, image, sizeof image,
                                              &n, &slot, &seq);
  if (st != MFP_OAUTH_STATUS_OK) return st;
  if (flash_write(slot, image, n) != 0) {
    /* Not confirmed: the next save targets the same slot again, so the
     * last good image (in the other slot) is never overwritten. */
    printf("flash: writing slot %c failed\n", slot ? 'B' : 'A');
    return MFP_OAUTH_STATUS_STORAGE_FAULT;
  }
  st = mfp_oauth_mailer_image_written(&mailer, slot, seq);
  if (st != MFP_OAUTH_STATUS_OK) return st;
  printf("flash: image %u (%zu octets, sealed) written to slot %c\n", (unsigned)seq, n,
         slot ? 'B' : 'A');
  if (erase_other) {
    if (flash_erase(1u - slot) != 0) return MFP_OAUTH_STATUS_STORAGE_FAULT;
    printf("flash: slot %c erased\n", slot ? 'A' : 'B');
  }
  return MFP_OAUTH_STATUS_OK;
}

/* ---- the SMTP session's steps --------------------------------------------- */

typedef struct {
  net_conn conn;
  const char *host;
  const printer_scan *scan;
  FILE *attachment;
  FILE *copy;
  uint64_t message_size;
  uint32_t failure; /* a local failure that ended the session, 0 if none */
} job_ctx;

static uint8_t plain_in[4096];
static size_t plain_in_len;

/* READY_FOR_BODY: the composer's octets, streamed through the session
 * (dot-stuffing or BDAT framing is the session's job), the file read in
 * the pieces the composer asks for. */
static uint32_t stream_body(job_ctx *j) {
  static uint8_t piece[4096], wire[8192], file_buf[MFP_OAUTH_MIME_INPUT_BUF_LEN];
  uint64_t produced = 0;
  for (;;) {
    mfp_oauth_mime_output r;
    mfp_oauth_status st = mfp_oauth_mime_poll_output(&mime, piece, sizeof piece, &r);
    if (st != MFP_OAUTH_STATUS_OK) return st; /* abandon: never finish a partial body */
    if (r.kind == MFP_OAUTH_MIME_OUTPUT_KIND_DONE) break;
    if (r.kind == MFP_OAUTH_MIME_OUTPUT_KIND_NEED_INPUT) {
      size_t want = r.max < sizeof file_buf ? r.max : sizeof file_buf;
      size_t got = fread(file_buf, 1, want, j->attachment);
      if (got == 0 && ferror(j->attachment)) return MFP_OAUTH_STATUS_STORAGE_FAULT;
      size_t used = 0;
      st = mfp_oauth_mime_handle_input(&mime, got ? file_buf : NULL, got, &used);
      if (st != MFP_OAUTH_STATUS_OK) return st; /* the file changed size under us */
      continue;
    }
    produced += r.written;
    if (j->copy && fwrite(piece, 1, r.written, j->copy) != r.written)
      return MFP_OAUTH_STATUS_STORAGE_FAULT;
    size_t off = 0;
    while (off < r.written) {
      size_t used = 0, n = 0;
      st = mfp_oauth_mailer_smtp_write_body_canonical(&mailer, piece + off, r.written - off, wire,
                                                      sizeof wire, &used, &n);
      if (st != MFP_OAUTH_STATUS_OK) return st;
      uint32_t d = net_send(&j->conn, wire, n, SEND_TIMEOUT_MS);
      if (d != MFP_OAUTH_STATUS_OK) return d;
      off += used;
    }
  }
  if (produced != j->message_size) return MFP_OAUTH_STATUS_WRONG_STATE;
  return mfp_oauth_mailer_smtp_finish_body(&mailer, clock_ms());
}

static const char *mechanism_name(uint32_t m) {
  return m == MFP_OAUTH_MECHANISM_OAUTHBEARER ? "OAUTHBEARER" : "XOAUTH2";
}

/* Drains the mailer's steps; returns 1 once the plan changed. */
static int drain_steps(job_ctx *j) {
  int changed = 0;
  for (;;) {
    mfp_oauth_step s;
    uint64_t now = clock_ms();
    if (mfp_oauth_mailer_poll_event(&mailer, now, &s) != MFP_OAUTH_STATUS_OK ||
        s.kind == MFP_OAUTH_STEP_KIND_NONE)
      return changed;
    switch (s.kind) {
      case MFP_OAUTH_STEP_KIND_PLAN_CHANGED: changed = 1; break;
      case MFP_OAUTH_STEP_KIND_PERSIST: {
        uint32_t d = persist(s.erase_other_slot);
        if (d != MFP_OAUTH_STATUS_OK) printer_show("persist", d);
        break;
      }
      case MFP_OAUTH_STEP_KIND_ADMIN_REAUTH_NEEDED:
        printer_show("information screen", s.diag ? s.diag : MFP_OAUTH_STATUS_ADMIN_REAUTH_NEEDED);
        break;
      case MFP_OAUTH_STEP_KIND_USER_REAUTH_NEEDED:
        printf("user %s must sign in again at the next send\n", s.user_id);
        break;
      case MFP_OAUTH_STEP_KIND_REFRESH_TOKEN_EXPIRING:
        printf("notice: a refresh token expires in %u days\n", (unsigned)s.days_left);
        break;
      case MFP_OAUTH_STEP_KIND_PREVIOUS_IMAGE_RESTORED:
        printer_show("power-on notice", s.diag);
        break;
      case MFP_OAUTH_STEP_KIND_SMTP: {
        const mfp_oauth_smtp_event *e = &s.smtp;
        if (!j) break;
        switch (e->kind) {
          case MFP_OAUTH_SMTP_EVENT_KIND_UPGRADE_TLS: {
            /* Nothing read in plaintext crosses into TLS: the handshake
             * reads from the socket only, and the plaintext buffer is
             * emptied (the session took every octet fed to it; plaintext
             * that came with or after the 220 made it fail as an injection,
             * CVE-2011-0411). */
            plain_in_len = 0;
            uint32_t d = net_start_tls(&j->conn, j->host, CONNECT_TIMEOUT_MS);
            if (d == MFP_OAUTH_STATUS_OK) {
              printf("smtp: TLS established after STARTTLS\n");
              mfp_oauth_mailer_smtp_handle_tls_established(&mailer, clock_ms());
            } else {
              /* The session ends with the TLS stack's reason (a refused
               * certificate is E607-E609, no common version E610), before
               * any AUTH; a reason the session does not take (a timeout)
               * cancels the job with it. */
              j->failure = d;
              if (mfp_oauth_mailer_smtp_handle_tls_failed(&mailer, clock_ms(), d) !=
                  MFP_OAUTH_STATUS_OK) {
                mfp_oauth_plan plan;
                mfp_oauth_mailer_cancel(&mailer, clock_ms(), d, &plan);
              }
              changed = 1;
            }
            break;
          }
          case MFP_OAUTH_SMTP_EVENT_KIND_READY_FOR_BODY: {
            uint32_t d = stream_body(j);
            if (d != MFP_OAUTH_STATUS_OK) {
              /* Close without finishing the body: the server drops it. */
              j->failure = d;
              mfp_oauth_mailer_smtp_handle_close(&mailer, clock_ms());
            }
            break;
          }
          case MFP_OAUTH_SMTP_EVENT_KIND_AUTHENTICATING:
            printf("smtp: AUTH %s\n", mechanism_name(e->mechanism));
            break;
          case MFP_OAUTH_SMTP_EVENT_KIND_AUTHENTICATED:
            printf("smtp: authenticated (%s)\n", mechanism_name(e->mechanism));
            break;
          case MFP_OAUTH_SMTP_EVENT_KIND_RECIPIENT_REFUSED:
            printf("smtp: recipient %zu (%s) refused with %u\n", e->index,
                   j->scan && e->index < j->scan->to_count ? j->scan->to[e->index] : "?",
                   (unsigned)e->reply_code);
            break;
          case MFP_OAUTH_SMTP_EVENT_KIND_MESSAGE_SENT:
            printf("smtp: message taken (%u), %zu accepted, %zu refused\n",
                   (unsigned)e->reply_code, e->accepted, e->refused);
            break;
          case MFP_OAUTH_SMTP_EVENT_KIND_AUTH_REJECTED:
          case MFP_OAUTH_SMTP_EVENT_KIND_MESSAGE_FAILED:
          case MFP_OAUTH_SMTP_EVENT_KIND_FAILED:
            printf("smtp: event %u, E%u at stage %u (reply %u)\n", (unsigned)e->kind,
                   (unsigned)e->diag, (unsigned)e->stage, (unsigned)e->reply_code);
            break;
          default: break;
        }
        break;
      }
      default: break;
    }
  }
}

/* ---- the token endpoint ---------------------------------------------------- */

static void print_qr(const char *text) {
  static uint8_t work[MFP_OAUTH_QR_WORK_LEN], bitmap[MFP_OAUTH_QR_BITMAP_LEN];
  uint32_t size = 0;
  size_t len = 0;
  if (mfp_oauth_qr_encode((const uint8_t *)text, strlen(text), work, sizeof work, bitmap,
                          sizeof bitmap, &size, &len) != MFP_OAUTH_STATUS_OK)
    return;
  size_t row_len = (size + 7) / 8;
  int q = MFP_OAUTH_QR_QUIET_ZONE, side = (int)size + 2 * q;
  /* Two rows of modules per line of text: upper and lower half blocks. */
  for (int y = 0; y < side; y += 2) {
    for (int x = 0; x < side; x++) {
      int dark[2] = {0, 0};
      for (int k = 0; k < 2; k++) {
        int my = y + k - q, mx = x - q;
        if (my >= 0 && my < (int)size && mx >= 0 && mx < (int)size)
          dark[k] = (bitmap[(size_t)my * row_len + (size_t)mx / 8] >> (7 - mx % 8)) & 1;
      }
      /* Light modules drawn light: on a dark terminal, invert the colours. */
      fputs(dark[0] && dark[1] ? "\u2588" : dark[0] ? "\u2580" : dark[1] ? "\u2584" : " ", stdout);
    }
    fputc('\n', stdout);
  }
}

static const char *request_name(uint32_t kind) {
  switch (kind) {
    case MFP_OAUTH_REQUEST_KIND_DEVICE_AUTHORIZATION: return "device authorization";
    case MFP_OAUTH_REQUEST_KIND_DEVICE_TOKEN: return "device token poll";
    case MFP_OAUTH_REQUEST_KIND_CODE_EXCHANGE: return "code exchange";
    case MFP_OAUTH_REQUEST_KIND_REFRESH: return "refresh grant";
    default: return "request";
  }
}

/* One request on a new connection, the response fed until the client says
 * the connection has served (complete response, failure or timeout). The
 * request's first piece is in `req` (`len` octets); a request longer than
 * `req` (`cap` octets) follows piece by piece on the same connection. */
static void http_exchange(uint8_t *req, size_t cap, size_t len, const mfp_oauth_endpoint *ep) {
  static uint8_t resp[4096];
  net_conn c;
  bool last = ep->last;
  uint32_t d = net_connect(&c, ep->host, ep->port, ep->tls, CONNECT_TIMEOUT_MS);
  if (d == MFP_OAUTH_STATUS_OK) d = net_send(&c, req, len, CONNECT_TIMEOUT_MS);
  while (d == MFP_OAUTH_STATUS_OK && !last) {
    bool sensitive = false;
    mfp_oauth_endpoint next;
    len = 0;
    d = mfp_oauth_token_client_poll_transmit(&tokens, clock_ms(), req, cap, &len, &sensitive, &next);
    if (d != MFP_OAUTH_STATUS_OK || len == 0) break; /* ended early: read the answer */
    last = next.last;
    d = net_send(&c, req, len, CONNECT_TIMEOUT_MS);
  }
  if (d != MFP_OAUTH_STATUS_OK) {
    printf("token: %s:%u: E%u\n", ep->host, (unsigned)ep->port, (unsigned)d);
    net_close(&c);
    mfp_oauth_token_client_handle_transport_error(&tokens, clock_ms(), d);
    return;
  }
  for (;;) {
    uint64_t deadline = MFP_OAUTH_NO_DEADLINE;
    mfp_oauth_token_client_poll_timeout(&tokens, &deadline);
    long r = net_recv(&c, resp, sizeof resp, deadline);
    uint64_t now = clock_ms();
    if (r > 0) {
      size_t used = 0; /* octets past the end of the response are not taken: dropped */
      mfp_oauth_token_client_handle_input(&tokens, now, resp, (size_t)r, &used);
    } else if (r == -1) {
      mfp_oauth_token_client_handle_close(&tokens, now);
    } else if (r == 0) {
      mfp_oauth_token_client_handle_timeout(&tokens, now);
    } else {
      mfp_oauth_token_client_handle_transport_error(&tokens, now, MFP_OAUTH_STATUS_IO_ERROR);
    }
    /* "Response complete, close now": also after an answer that brings no
     * event (a device poll still pending). */
    bool done = true;
    if (mfp_oauth_token_client_connection_done(&tokens, &done) != MFP_OAUTH_STATUS_OK || done) break;
  }
  net_close(&c);
}

/* Runs the started flow of `tokens` to its end; the last event (ACCESS_TOKEN,
 * REAUTH_REQUIRED or FAILED) goes to `*end`. With `via_mailer` (a refresh for
 * a job) the mailer takes every event and stores the outcome itself. */
static uint32_t run_token_flow(int via_mailer, mfp_oauth_token_event *end) {
  /* Requests longer than this (a refresh with Microsoft's long token) go out
   * in pieces through it. */
  static uint8_t req[512];
  for (;;) {
    uint64_t now = clock_ms();
    size_t n = 0;
    bool sensitive = false;
    mfp_oauth_endpoint ep;
    mfp_oauth_status st = mfp_oauth_token_client_poll_transmit(&tokens, now, req, sizeof req, &n,
                                                               &sensitive, &ep);
    if (st != MFP_OAUTH_STATUS_OK) return st;
    if (n > 0) {
      /* The request may carry the refresh token or a code: never logged. */
      printf("token: %s to %s:%u%s\n", request_name(ep.kind), ep.host, (unsigned)ep.port,
             sensitive ? " (carries a secret, not logged)" : "");
      http_exchange(req, sizeof req, n, &ep);
    }
    for (;;) {
      mfp_oauth_token_event e;
      bool plan_changed = false;
      st = via_mailer ? mfp_oauth_mailer_poll_token_event(&mailer, clock_ms(), wall_s(), &tokens,
                                                          &e, &plan_changed)
                      : mfp_oauth_token_client_poll_event(&tokens, &e);
      if (st != MFP_OAUTH_STATUS_OK) return st;
      if (e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_NONE) break;
      switch (e.kind) {
        case MFP_OAUTH_TOKEN_EVENT_KIND_USER_CODE: {
          char code[64], uri[512];
          uint64_t expires = 0;
          st = mfp_oauth_token_client_device_code(&tokens, code, sizeof code, uri, sizeof uri,
                                                  &expires);
          if (st != MFP_OAUTH_STATUS_OK) return st;
          printf("panel: to sign in, open %s and enter the code %s (valid %u s)\n", uri, code,
                 (unsigned)expires);
          print_qr(uri);
          printf("device code: %s\n", code); /* the line the test's driver reads */
          fflush(stdout);
          break;
        }
        case MFP_OAUTH_TOKEN_EVENT_KIND_SLOW_DOWN:
          printf("token: slow down, polling every %u ms\n", (unsigned)e.interval_ms);
          break;
        case MFP_OAUTH_TOKEN_EVENT_KIND_REFRESH_TOKEN_ROTATED:
          printf("token: a new refresh token arrived\n");
          break;
        case MFP_OAUTH_TOKEN_EVENT_KIND_RETRYING:
          printf("token: E%u, retrying\n", (unsigned)e.diag);
          break;
        case MFP_OAUTH_TOKEN_EVENT_KIND_ACCESS_TOKEN:
        case MFP_OAUTH_TOKEN_EVENT_KIND_REAUTH_REQUIRED:
        case MFP_OAUTH_TOKEN_EVENT_KIND_FAILED:
          *end = e;
          return MFP_OAUTH_STATUS_OK;
        default: break;
      }
    }
    if (n > 0) continue; /* another request may be due at once */
    uint64_t deadline = MFP_OAUTH_NO_DEADLINE;
    mfp_oauth_token_client_poll_timeout(&tokens, &deadline);
    if (deadline == MFP_OAUTH_NO_DEADLINE) return MFP_OAUTH_STATUS_WRONG_STATE; /* stuck */
    now = clock_ms();
    if (deadline > now) {
      struct timespec ts = {(time_t)((deadline - now) / 1000), (long)((deadline - now) % 1000) * 1000000L};
      nanosleep(&ts, NULL);
    }
    mfp_oauth_token_client_handle_timeout(&tokens, clock_ms());
  }
}

/* ---- power-on, Acquire, status ------------------------------------------- */

uint32_t printer_power_on(const mfp_oauth_settings *factory) {
  size_t len[2] = {0, 0};
  if (flash_device_key(device_key, sizeof device_key) != 0) return MFP_OAUTH_STATUS_STORAGE_FAULT;
  for (uint32_t s = 0; s < 2; s++)
    if (flash_read(s, slots[s], sizeof slots[s], &len[s]) != 0)
      return MFP_OAUTH_STATUS_STORAGE_FAULT; /* unreadable is not erased: never create */
  mfp_oauth_nv_report report;
  mfp_oauth_status st = mfp_oauth_mailer_load(&mailer, users, MFP_OAUTH_MAX_USER_SLOTS, slots[0],
                                              len[0], slots[1], len[1], device_key, &report);
  if (st == MFP_OAUTH_STATUS_OK) {
    printf("power-on: image %u loaded from slot %c (other slot: %s)\n", (unsigned)report.sequence,
           report.slot ? 'B' : 'A',
           report.other == MFP_OAUTH_NV_SLOT_STATE_VALID     ? "valid"
           : report.other == MFP_OAUTH_NV_SLOT_STATE_CORRUPT ? "damaged"
                                                             : "erased");
  } else if (st == MFP_OAUTH_STATUS_NV_EMPTY) {
    /* Both slots erased: the first start, the only case that creates. */
    printf("power-on: first start, factory settings\n");
    st = mfp_oauth_mailer_create(&mailer, users, MFP_OAUTH_MAX_USER_SLOTS, factory);
    if (st != MFP_OAUTH_STATUS_OK) return st;
  } else {
    /* Any other status: keep both slots untouched (creating and saving
     * here would erase the other slot and the refresh token with it). */
    return st;
  }
  mailer_live = 1;
  drain_steps(NULL);
  return MFP_OAUTH_STATUS_OK;
}

void printer_power_off(void) {
  mfp_oauth_token_client_destroy(&tokens);
  mfp_oauth_mime_destroy(&mime);
  if (mailer_live) mfp_oauth_mailer_destroy(&mailer);
  mailer_live = 0;
}

static const char *token_status_name(mfp_oauth_token_status s) {
  return s == MFP_OAUTH_TOKEN_STATUS_ACQUIRED        ? "Acquired"
         : s == MFP_OAUTH_TOKEN_STATUS_REAUTH_NEEDED ? "Re-authentication needed"
                                                     : "Required";
}

void printer_status(void) {
  mfp_oauth_token_status ts = MFP_OAUTH_TOKEN_STATUS_REQUIRED;
  mfp_oauth_settings s;
  if (mfp_oauth_mailer_token_status(&mailer, NULL, 0, &ts) == MFP_OAUTH_STATUS_OK)
    printf("status: administrator's token: %s\n", token_status_name(ts));
  if (mfp_oauth_mailer_settings(&mailer, &s) == MFP_OAUTH_STATUS_OK)
    printf("status: administrator %.*s, SMTP server %.*s:%u, OAuth %s\n",
           (int)s.admin_address.len, s.admin_address.ptr ? s.admin_address.ptr : "",
           (int)s.smtp_host.len, s.smtp_host.ptr ? s.smtp_host.ptr : "", (unsigned)s.smtp_port,
           s.oauth_enabled ? "on" : "off");
}

uint32_t printer_acquire_admin(void) {
  mfp_oauth_settings s;
  /* The settings in force (pointers into the mailer, valid until the next
   * apply_settings): the token client reads the provider fields. */
  mfp_oauth_status st = mfp_oauth_mailer_settings(&mailer, &s);
  uint64_t seed = 0;
  random_bytes((uint8_t *)&seed, sizeof seed);
  if (st == MFP_OAUTH_STATUS_OK) st = mfp_oauth_token_client_create(&tokens, &s, seed);
  if (st == MFP_OAUTH_STATUS_OK) st = mfp_oauth_token_client_start_device(&tokens, clock_ms());
  if (st != MFP_OAUTH_STATUS_OK) return st;
  mfp_oauth_token_event end;
  st = run_token_flow(0, &end);
  if (st == MFP_OAUTH_STATUS_OK && end.kind != MFP_OAUTH_TOKEN_EVENT_KIND_ACCESS_TOKEN)
    st = end.diag;
  if (st == MFP_OAUTH_STATUS_OK)
    st = mfp_oauth_mailer_acquire_admin(&mailer, clock_ms(), wall_s(), &tokens);
  mfp_oauth_token_client_destroy(&tokens); /* wipes the tokens it held */
  drain_steps(NULL);                       /* PERSIST: the refresh token goes to flash */
  return st;
}

/* ---- one job ---------------------------------------------------------------- */

/* SESSION: moves octets between the socket and the mailer's session until
 * the plan changes. */
static void run_session(job_ctx *j) {
  static uint8_t out[1024];
  plain_in_len = 0;
  for (;;) {
    uint64_t now = clock_ms();
    if (plain_in_len > 0) {
      size_t used = 0;
      mfp_oauth_mailer_smtp_handle_input(&mailer, now, plain_in, plain_in_len, &used);
      memmove(plain_in, plain_in + used, plain_in_len - used);
      plain_in_len -= used;
    }
    int changed = drain_steps(j);
    for (;;) {
      size_t n = 0;
      bool sensitive = false; /* the AUTH line: sent, never logged */
      if (mfp_oauth_mailer_smtp_poll_transmit(&mailer, clock_ms(), out, sizeof out, &n,
                                              &sensitive) != MFP_OAUTH_STATUS_OK ||
          n == 0)
        break;
      if (net_send(&j->conn, out, n, SEND_TIMEOUT_MS) != MFP_OAUTH_STATUS_OK) {
        mfp_oauth_mailer_smtp_handle_close(&mailer, clock_ms());
        changed |= drain_steps(j);
        break;
      }
    }
    if (changed) {
      mfp_oauth_plan plan;
      if (mfp_oauth_mailer_plan(&mailer, &plan) != MFP_OAUTH_STATUS_OK ||
          plan.kind != MFP_OAUTH_PLAN_KIND_SESSION)
        return;
    }
    uint64_t deadline = MFP_OAUTH_NO_DEADLINE;
    mfp_oauth_mailer_smtp_poll_timeout(&mailer, &deadline);
    if (plain_in_len == sizeof plain_in) { /* the session stopped reading */
      plain_in_len = 0;
      mfp_oauth_mailer_smtp_handle_close(&mailer, clock_ms());
      continue;
    }
    long r = net_recv(&j->conn, plain_in + plain_in_len, sizeof plain_in - plain_in_len, deadline);
    if (r > 0) plain_in_len += (size_t)r;
    else if (r == 0) mfp_oauth_mailer_smtp_handle_timeout(&mailer, clock_ms());
    else mfp_oauth_mailer_smtp_handle_close(&mailer, clock_ms());
  }
}

uint32_t printer_send_scan(const printer_scan *scan) {
  static mfp_oauth_str to[MFP_OAUTH_MIME_MAX_TO];
  job_ctx j;
  memset(&j, 0, sizeof j);
  j.conn.fd = -1;
  j.scan = scan;
  mfp_oauth_settings s;
  mfp_oauth_status st = mfp_oauth_mailer_settings(&mailer, &s);
  if (st != MFP_OAUTH_STATUS_OK) return st;
  if (scan->to_count == 0 || scan->to_count > MFP_OAUTH_MIME_MAX_TO)
    return MFP_OAUTH_STATUS_INVALID_ARGUMENT;
  for (size_t i = 0; i < scan->to_count; i++) {
    to[i].ptr = scan->to[i];
    to[i].len = strlen(scan->to[i]);
  }

  /* The job first: the sender policy decides the From address (the plan's
   * `from`), which the message's From: header must show. */
  mfp_oauth_job job;
  memset(&job, 0, sizeof job);
  job.function = MFP_OAUTH_FUNCTION_SCAN_TO_EMAIL;
  if (scan->from) {
    job.from.ptr = scan->from;
    job.from.len = strlen(scan->from);
  }
  job.to = to;
  job.to_count = scan->to_count;
  mfp_oauth_plan plan;
  st = mfp_oauth_mailer_submit(&mailer, clock_ms(), &job, &plan);
  if (st != MFP_OAUTH_STATUS_OK) return st;
  if (plan.kind != MFP_OAUTH_PLAN_KIND_FAILED)
    printf("job: From %s (the sender policy's)\n", plan.from);

  /* The message: composed by the library from the policy's From, its exact
   * size known before the first octet and given to the job before the
   * session starts (MAIL FROM ... SIZE=, BDAT). The plan is rewritten as
   * the job goes on, so the From is copied for the composer. */
  static char from[MFP_OAUTH_ADDRESS_BUF_LEN];
  mfp_oauth_mime_attachment file;
  mfp_oauth_mime_message msg;
  if (plan.kind != MFP_OAUTH_PLAN_KIND_FAILED) {
    snprintf(from, sizeof from, "%s", plan.from);
    j.attachment = fopen(scan->attachment_path, "rb");
    struct stat sb;
    if (!j.attachment || fstat(fileno(j.attachment), &sb) != 0) {
      perror(scan->attachment_path);
      if (j.attachment) fclose(j.attachment);
      j.attachment = NULL;
      st = MFP_OAUTH_STATUS_STORAGE_FAULT;
    } else {
      file = (mfp_oauth_mime_attachment){
          {scan->attachment_name, strlen(scan->attachment_name)}, {NULL, 0}, (uint64_t)sb.st_size};
      memset(&msg, 0, sizeof msg);
      msg.from.ptr = from;
      msg.from.len = strlen(from);
      msg.to = to;
      msg.to_count = scan->to_count;
      msg.subject.ptr = scan->subject;
      msg.subject.len = strlen(scan->subject);
      msg.text.ptr = scan->text;
      msg.text.len = strlen(scan->text);
      msg.attachments = &file;
      msg.attachment_count = 1;
      uint8_t random[MFP_OAUTH_MIME_RANDOM_LEN];
      if (random_bytes(random, sizeof random) != 0) st = MFP_OAUTH_STATUS_STORAGE_FAULT;
      if (st == MFP_OAUTH_STATUS_OK)
        st = mfp_oauth_mime_begin(&mime, &msg, wall_s(), random, &j.message_size);
      if (st == MFP_OAUTH_STATUS_OK)
        st = mfp_oauth_mailer_set_message_size(&mailer, j.message_size);
      if (st == MFP_OAUTH_STATUS_OK) {
        if (scan->copy_path && !(j.copy = fopen(scan->copy_path, "wb"))) perror(scan->copy_path);
        printf("job: scan-to-email, %zu recipients, message of %llu octets (%s, %llu octets)\n",
               scan->to_count, (unsigned long long)j.message_size, scan->attachment_name,
               (unsigned long long)file.len);
      }
    }
    if (st != MFP_OAUTH_STATUS_OK) {
      /* No message: the job ends here, with why. */
      mfp_oauth_status why = st;
      st = mfp_oauth_mailer_cancel(&mailer, clock_ms(), why, &plan);
      if (j.attachment) fclose(j.attachment);
      j.attachment = NULL;
      if (st == MFP_OAUTH_STATUS_OK) return why;
      return st;
    }
  }
  uint32_t result = st;
  while (st == MFP_OAUTH_STATUS_OK) {
    drain_steps(&j);
    if (plan.kind == MFP_OAUTH_PLAN_KIND_DONE) {
      result = MFP_OAUTH_STATUS_OK;
      break;
    }
    if (plan.kind == MFP_OAUTH_PLAN_KIND_FAILED) {
      result = j.failure ? j.failure : plan.diag;
      break;
    }
    switch (plan.kind) {
      case MFP_OAUTH_PLAN_KIND_NEED_ADMIN_AUTH:
      case MFP_OAUTH_PLAN_KIND_NEED_USER_AUTH:
        /* No sign-in in the middle of a job here: Acquire first. */
        printf("job: %s must sign in first (mfp-printer signin)\n", plan.account);
        st = mfp_oauth_mailer_auth_failed(&mailer, MFP_OAUTH_STATUS_ADMIN_TOKEN_REQUIRED, &plan);
        break;
      case MFP_OAUTH_PLAN_KIND_TOKEN_EXCHANGE: {
        /* No access token survives a power cycle: a refresh grant first. */
        uint64_t seed = 0;
        mfp_oauth_token_event end;
        random_bytes((uint8_t *)&seed, sizeof seed);
        st = mfp_oauth_token_client_create(&tokens, &s, seed);
        if (st == MFP_OAUTH_STATUS_OK) st = mfp_oauth_mailer_start_refresh(&mailer, clock_ms(), &tokens);
        if (st == MFP_OAUTH_STATUS_OK) st = run_token_flow(1, &end);
        if (st != MFP_OAUTH_STATUS_OK) /* the flow could not run: the job fails with why */
          st = mfp_oauth_mailer_exchange_failed(&mailer, clock_ms(), false, st, &plan);
        else
          st = mfp_oauth_mailer_plan(&mailer, &plan); /* the mailer took the end event */
        mfp_oauth_token_client_destroy(&tokens);
        break;
      }
      case MFP_OAUTH_PLAN_KIND_CONNECT: {
        int implicit = plan.security == MFP_OAUTH_SMTP_SECURITY_IMPLICIT_TLS;
        printf("job: connecting to %s:%u (%s)\n", plan.host, (unsigned)plan.port,
               implicit ? "implicit TLS" : "STARTTLS");
        static char host[MFP_OAUTH_HOST_BUF_LEN];
        memcpy(host, plan.host, sizeof host);
        j.host = host;
        uint32_t d = net_connect(&j.conn, host, plan.port, implicit, CONNECT_TIMEOUT_MS);
        if (d != MFP_OAUTH_STATUS_OK)
          st = mfp_oauth_mailer_connect_failed(&mailer, d, &plan);
        else
          st = mfp_oauth_mailer_connected(&mailer, clock_ms(), EHLO_NAME, strlen(EHLO_NAME), &plan);
        break;
      }
      case MFP_OAUTH_PLAN_KIND_SESSION:
        run_session(&j);
        st = mfp_oauth_mailer_plan(&mailer, &plan);
        break;
      default: st = MFP_OAUTH_STATUS_WRONG_STATE; break;
    }
    if (st != MFP_OAUTH_STATUS_OK) result = st;
  }
  net_close(&j.conn); /* DONE or FAILED: close the connection */
  drain_steps(&j);
  if (j.attachment) fclose(j.attachment);
  if (j.copy) fclose(j.copy);
  mfp_oauth_mime_destroy(&mime); /* WRONG_STATE when no message was begun */

  /* For the support log: the reply that decided the job, if it had one. */
  char reply[MFP_OAUTH_REPLY_TEXT_BUF_LEN];
  uint32_t code = 0;
  size_t n = 0;
  if (mfp_oauth_mailer_last_reply(&mailer, &code, reply, sizeof reply, &n) == MFP_OAUTH_STATUS_OK)
    printf("support log: server replied %u %s\n", (unsigned)code, reply);
  else
    printf("support log: no server reply (the job ended before the network)\n");
  if (result == MFP_OAUTH_STATUS_OK)
    printf("job: sent (%u), %zu accepted, %zu refused\n", (unsigned)plan.reply_code, plan.accepted,
           plan.refused);
  return result;
}

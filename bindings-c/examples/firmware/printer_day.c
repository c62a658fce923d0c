/* A printer's day through the C API only (R-FFI, R-TOK, R-NV, R-POL),
 * shared by the Cortex-M4F firmware and the host C tests:
 *
 *  1. the administrator enables OAuth (Microsoft, administrator fixed
 *     address): the token is Required and a scan job is refused for it;
 *  2. Acquire in Configuration OAuth with the device flow against a
 *     scripted token endpoint; the refresh token is persisted to a RAM
 *     "flash" (slots A/B);
 *  3. the scan is sent through a scripted Microsoft 365 SMTP server;
 *  4. power cycle: the mailer is rebuilt from the flash, the access token is
 *     gone, the refresh token is there;
 *  5. the next job refreshes (rotation persisted to the other slot) and sends;
 *  6. login-user mode with automatic deletion: four users sign in, one
 *     user slot each, a fifth is told the slots are taken, and each user's
 *     tokens go at logout;
 *  7. the transport becomes Microsoft Graph (R-XPORT): the tokens' scope no
 *     longer fits, so the next scan signs the administrator in within the
 *     job, is throttled once (429, Retry-After) and goes through Graph's
 *     sendMail on a new connection (the deepest paths of the job, painted
 *     like the rest, R-MEM).
 *
 * printer_day() returns the number of failed checks (0: the day went well).
 * The caller may define PD_MEASURED(name, call) to wrap library calls. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mfp_oauth.h"

#ifndef PD_MEASURED
#define PD_MEASURED(name, call) (call)
#endif

static int pd_failed, pd_passed;

#define PD_CHECK(cond)                                                   \
  do {                                                                   \
    if (cond) {                                                          \
      pd_passed++;                                                       \
    } else {                                                             \
      pd_failed++;                                                       \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);             \
    }                                                                    \
  } while (0)

#define PD_OK(call)                                                      \
  do {                                                                   \
    mfp_oauth_status pd_s_ = (call);                                     \
    if (pd_s_ == MFP_OAUTH_STATUS_OK) {                                  \
      pd_passed++;                                                       \
    } else {                                                             \
      pd_failed++;                                                       \
      printf("FAIL %s:%d: %s -> %s\n", __FILE__, __LINE__, #call,        \
             mfp_oauth_status_str(pd_s_));                               \
    }                                                                    \
  } while (0)

#define PD_STR(lit) ((mfp_oauth_str){(lit), sizeof(lit) - 1})

/* ---- the device's memory --------------------------------------------- */

static mfp_oauth_mailer pd_mailer;             /* static: 39 KB */
/* One slot for each user the printer keeps signed in at once (R-MEM: the
 * mailer's storage holds no user's token; 2.4 KB a user). */
#define PD_USER_SLOTS 4
static mfp_oauth_user_slot pd_users[PD_USER_SLOTS];
/* The token client and the settings draft share their memory: a token
 * exchange and a settings change never run at once (R-MEM). */
static union {
  mfp_oauth_token_client tokens;  /* a sign-in or a refresh: 13 KB */
  mfp_oauth_settings_draft draft; /* mfp_oauth_mailer_apply_settings: 4.4 KB */
} pd_shared;
static uint8_t pd_flash[2][MFP_OAUTH_NV_IMAGE_MAX_LEN]; /* the RAM "flash" */
static size_t pd_flash_len[2];
/* The image goes to flash in pieces through one page: no RAM buffer the
 * size of a slot (MFP_OAUTH_NV_IMAGE_MAX_LEN). */
#define PD_PAGE_LEN 256
static uint8_t pd_page[PD_PAGE_LEN];
/* The token client writes each request here (mfp_oauth_token_client_poll_transmit),
 * in pieces when it is longer (a refresh carries a 1.5 KB token). */
static char pd_request[512];
/* At power-on, before the token client is created, its storage holds the
 * image's records (mfp_oauth_mailer_load_from). */
_Static_assert(sizeof pd_shared.tokens >= MFP_OAUTH_NV_RECORDS_MAX_LEN,
               "records fit the token client");
static uint64_t pd_now = 1000;
static int pd_persisted;

static mfp_oauth_settings pd_settings(void) {
  mfp_oauth_settings s;
  mfp_oauth_settings_init(&s);
  s.oauth_enabled = true;
  s.provider = MFP_OAUTH_PROVIDER_MICROSOFT;
  s.tenant = PD_STR("contoso.onmicrosoft.com");
  s.client_id = PD_STR("4f1c3b2a-9d8e-4c7b-a6f5-0e1d2c3b4a59");
  s.admin_address = PD_STR("admin@contoso.com");
  s.smtp_host = PD_STR("smtp.office365.com");
  s.smtp_port = 587;
  s.smtp_security = MFP_OAUTH_SMTP_SECURITY_STARTTLS;
  s.sender_mode = MFP_OAUTH_SENDER_MODE_ADMIN_FIXED_ADDRESS;
  return s;
}

/* Writes the image to the slot the mailer names, a page at a time, as
 * firmware programs flash; confirms it once the last piece is out. With a
 * device key (MFP_OAUTH_DEVICE_KEY_LEN octets from the firmware's secret
 * store) and fresh randomness, the secrets are sealed. Returns the slot. */
static mfp_oauth_nv_slot pd_persist_sealed(const uint8_t *key, const uint8_t *random) {
  size_t len = 0, offset = 0, n = 0;
  mfp_oauth_nv_slot slot = 0;
  uint32_t seq = 0;
  PD_OK(PD_MEASURED("mfp_oauth_mailer_save_begin",
                    mfp_oauth_mailer_save_begin(&pd_mailer, key, random, &len, &slot, &seq)));
  PD_CHECK(slot <= 1 && len > 0 && len <= MFP_OAUTH_NV_IMAGE_MAX_LEN);
  if (slot > 1 || len > MFP_OAUTH_NV_IMAGE_MAX_LEN) return slot;
  size_t written = 0;
  for (;;) {
    mfp_oauth_status st = PD_MEASURED(
        "mfp_oauth_mailer_save_next",
        mfp_oauth_mailer_save_next(&pd_mailer, pd_page, sizeof pd_page, &offset, &n));
    PD_OK(st);
    if (st != MFP_OAUTH_STATUS_OK || n == 0) break;
    PD_CHECK(offset == written && offset + n <= len);
    if (offset + n > len) return slot;
    memcpy(pd_flash[slot] + offset, pd_page, n); /* program one page */
    written += n;
  }
  PD_CHECK(written == len);
  pd_flash_len[slot] = written;
  PD_OK(mfp_oauth_mailer_image_written(&pd_mailer, slot, seq));
  pd_persisted++;
  return slot;
}

static void pd_persist(void) { (void)pd_persist_sealed(NULL, NULL); }

/* The flash driver, for slots that are not memory-mapped. */
static int32_t pd_flash_read(void *ctx, uint32_t slot, size_t offset, uint8_t *out, size_t len) {
  (void)ctx;
  if (slot > 1 || offset > sizeof pd_flash[0] || len > sizeof pd_flash[0] - offset) return -1;
  memcpy(out, pd_flash[slot] + offset, len);
  return 0;
}

/* ---- the token endpoint ------------------------------------------------ */

static const char *pd_json_response(const char *json, char *buf, size_t cap) {
  snprintf(buf, cap,
           "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
           "Content-Length: %u\r\nConnection: close\r\n\r\n%s",
           (unsigned)strlen(json), json);
  return buf;
}

static const char PD_DEVICE_JSON[] =
    "{\"user_code\":\"FJ7K-2QXM\",\"device_code\":\"DAQABAAEAAAD--DLA3VO7QrddgJg7WevrAgAAAAAAAAAA\","
    "\"verification_uri\":\"https://microsoft.com/devicelogin\",\"expires_in\":900,\"interval\":5,"
    "\"message\":\"To sign in, use a web browser to open the page https://microsoft.com/devicelogin "
    "and enter the code FJ7K-2QXM to authenticate.\"}";
static const char PD_TOKEN_JSON[] =
    "{\"token_type\":\"Bearer\",\"scope\":\"https://outlook.office.com/SMTP.Send\",\"expires_in\":3599,"
    "\"access_token\":\"EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA\","
    "\"refresh_token\":\"M.C107_BAY.0.U.-Cp3Rj1fQ9zH!wGs7kqZ*x\"}";
static const char PD_REFRESHED_JSON[] =
    "{\"token_type\":\"Bearer\",\"scope\":\"https://outlook.office.com/SMTP.Send\",\"expires_in\":3599,"
    "\"access_token\":\"EwBAAfreshTokenAfterRefresh\","
    "\"refresh_token\":\"M.C107_BAY.0.U.-rotated2Kq!Zx*9\"}";

static const char PD_GRAPH_TOKEN_JSON[] =
    "{\"token_type\":\"Bearer\",\"scope\":\"https://graph.microsoft.com/Mail.Send "
    "https://graph.microsoft.com/Mail.ReadWrite\",\"expires_in\":3599,"
    "\"access_token\":\"EwBgGraphAccessTokenForSendMail\","
    "\"refresh_token\":\"M.C107_BAY.0.U.-graphRefresh7Qz\"}";

/* Runs the token client until it succeeds, answering each request with the
 * next scripted body; returns 1 on ACCESS_TOKEN. */
static int pd_token_flow(const char *const *bodies, size_t count, const char *want_path,
                         int via_mailer) {
  static char resp[2048];
  char *req = pd_request;
  size_t next = 0;
  for (int turn = 0; turn < 200; turn++) { /* a request in pieces takes a turn each */
    size_t n = 0;
    bool sensitive = false;
    mfp_oauth_endpoint ep;
    PD_OK(PD_MEASURED("mfp_oauth_token_client_poll_transmit",
                      mfp_oauth_token_client_poll_transmit(&pd_shared.tokens, pd_now,
                                                           (uint8_t *)req, sizeof pd_request - 1,
                                                           &n, &sensitive, &ep)));
    if (n > 0) {
      req[n] = 0;
      PD_CHECK(strcmp(ep.host, "login.microsoftonline.com") == 0 && ep.port == 443 && ep.tls);
      /* The request line is in the first piece. */
      if (next == 0 && want_path) PD_CHECK(ep.offset > 0 || strstr(req, want_path) != NULL);
      if (!ep.last) continue; /* the next piece, on the same connection */
      PD_CHECK(next < count);
      if (next >= count) return 0;
      const char *r = pd_json_response(bodies[next++], resp, sizeof resp);
      size_t used = 0;
      PD_OK(PD_MEASURED("mfp_oauth_token_client_handle_input",
                        mfp_oauth_token_client_handle_input(&pd_shared.tokens, pd_now,
                                                            (const uint8_t *)r, strlen(r),
                                                            &used)));
      PD_OK(mfp_oauth_token_client_handle_close(&pd_shared.tokens, pd_now));
    }
    mfp_oauth_token_event e;
    for (;;) {
      bool plan_changed = false;
      if (via_mailer)
        PD_OK(PD_MEASURED("mfp_oauth_mailer_poll_token_event",
                          mfp_oauth_mailer_poll_token_event(&pd_mailer, pd_now, 1764003600,
                                                            &pd_shared.tokens, &e,
                                                            &plan_changed)));
      else
        PD_OK(mfp_oauth_token_client_poll_event(&pd_shared.tokens, &e));
      if (e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_NONE) break;
      PD_CHECK(!plan_changed || e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_ACCESS_TOKEN);
      if (e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_USER_CODE) {
        char code[33], uri[257];
        uint64_t expires = 0;
        PD_OK(mfp_oauth_token_client_device_code(&pd_shared.tokens, code, sizeof code, uri, sizeof uri,
                                                 &expires));
        PD_CHECK(strcmp(code, "FJ7K-2QXM") == 0);
        printf("panel: go to %s and enter %s\n", uri, code);
      }
      if (e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_ACCESS_TOKEN) return 1;
      if (e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_FAILED ||
          e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_REAUTH_REQUIRED) {
        printf("FAIL token flow: E%u\n", (unsigned)e.diag);
        pd_failed++;
        return 0;
      }
    }
    /* Nothing due: sleep until the client's deadline (the device poll). */
    uint64_t deadline = MFP_OAUTH_NO_DEADLINE;
    PD_OK(mfp_oauth_token_client_poll_timeout(&pd_shared.tokens, &deadline));
    if (n == 0 && deadline != MFP_OAUTH_NO_DEADLINE && deadline > pd_now) pd_now = deadline;
  }
  return 0;
}

/* ---- the SMTP server ----------------------------------------------------- */

typedef struct {
  const char *client; /* expected line (prefix) */
  const char *server; /* answer once it arrived, or NULL */
} pd_exchange;

static const pd_exchange pd_smtp_script[] = {
    {"EHLO mfp-3f.contoso.com",
     "250-SN4PR0501CA0054.outlook.office365.com Hello [203.0.113.7]\r\n250-SIZE 157286400\r\n"
     "250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250 SMTPUTF8\r\n"},
    {"STARTTLS", "220 2.0.0 SMTP server ready\r\n"},
    {"EHLO mfp-3f.contoso.com",
     "250-SN4PR0501CA0054.outlook.office365.com Hello [203.0.113.7]\r\n250-SIZE 157286400\r\n"
     "250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-AUTH LOGIN XOAUTH2\r\n250 SMTPUTF8\r\n"},
    {"AUTH XOAUTH2 ", "235 2.7.0 Authentication successful\r\n"},
    {"MAIL FROM:<admin@contoso.com>", NULL},
    {"RCPT TO:<alice@contoso.com>", NULL},
    {"DATA", "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Start mail input\r\n"},
    {"Subject: Scan", NULL},
    {"", NULL},
    {"..page 1", NULL},
    {".", "250 2.0.0 OK <DM6PR@contoso.com> Queued mail for delivery\r\n"},
    {"QUIT", "221 2.0.0 Service closing transmission channel\r\n"},
};
#define PD_SCRIPT_LEN (sizeof pd_smtp_script / sizeof pd_smtp_script[0])
static const char pd_body[] = "Subject: Scan\r\n\r\n.page 1\r\n";

/* The scripted server: the client lines it expects and what it answers. */
static struct {
  const pd_exchange *script;
  size_t script_len;
  size_t step;
  char line[600];
  size_t line_len;
  char inbox[1024];
  size_t inbox_len;
  int tls, sensitive, sensitive_in_clear;
} pd_srv;

/* A new connection to a server that follows `script`. */
static void pd_server_open(const pd_exchange *script, size_t len) {
  memset(&pd_srv, 0, sizeof pd_srv);
  pd_srv.script = script;
  pd_srv.script_len = len;
}

static void pd_server_says(const char *text) {
  size_t n = strlen(text);
  PD_CHECK(pd_srv.inbox_len + n <= sizeof pd_srv.inbox);
  if (pd_srv.inbox_len + n > sizeof pd_srv.inbox) return;
  memcpy(pd_srv.inbox + pd_srv.inbox_len, text, n);
  pd_srv.inbox_len += n;
}

static void pd_server_receive(const uint8_t *data, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (data[i] != '\n') {
      if (pd_srv.line_len < sizeof pd_srv.line - 1) pd_srv.line[pd_srv.line_len++] = (char)data[i];
      continue;
    }
    if (pd_srv.line_len > 0 && pd_srv.line[pd_srv.line_len - 1] == '\r') pd_srv.line_len--;
    pd_srv.line[pd_srv.line_len] = 0;
    pd_srv.line_len = 0;
    PD_CHECK(pd_srv.step < pd_srv.script_len);
    if (pd_srv.step >= pd_srv.script_len) return;
    const pd_exchange *x = &pd_srv.script[pd_srv.step++];
    if (strncmp(pd_srv.line, x->client, strlen(x->client)) != 0 ||
        (x->client[0] == 0 && pd_srv.line[0] != 0)) {
      printf("FAIL server expected \"%s\", got \"%s\"\n", x->client, pd_srv.line);
      pd_failed++;
    }
    if (x->server) pd_server_says(x->server);
  }
}

/* Where the session's octets go: the SMTP server, or the mail API's. */
static void (*pd_wire)(const uint8_t *data, size_t len) = pd_server_receive;

/* Drains the mailer's steps; returns 1 once the plan changed. */
static int pd_steps(void) {
  int changed = 0;
  mfp_oauth_step s;
  for (;;) {
    PD_OK(PD_MEASURED("mfp_oauth_mailer_poll_event",
                      mfp_oauth_mailer_poll_event(&pd_mailer, pd_now, &s)));
    if (s.kind == MFP_OAUTH_STEP_KIND_NONE) return changed;
    switch (s.kind) {
      case MFP_OAUTH_STEP_KIND_PERSIST: pd_persist(); break;
      case MFP_OAUTH_STEP_KIND_PLAN_CHANGED: changed = 1; break;
      case MFP_OAUTH_STEP_KIND_SMTP:
        if (s.smtp.kind == MFP_OAUTH_SMTP_EVENT_KIND_UPGRADE_TLS) {
          pd_srv.tls = 1;
          PD_OK(mfp_oauth_mailer_smtp_handle_tls_established(&pd_mailer, pd_now));
        } else if (s.smtp.kind == MFP_OAUTH_SMTP_EVENT_KIND_READY_FOR_BODY) {
          uint8_t out[64];
          size_t off = 0;
          while (off < sizeof pd_body - 1) {
            size_t used = 0, n = 0;
            mfp_oauth_status st = PD_MEASURED(
                "mfp_oauth_mailer_smtp_write_body",
                mfp_oauth_mailer_smtp_write_body(&pd_mailer, (const uint8_t *)pd_body + off,
                                                 sizeof pd_body - 1 - off, out, sizeof out, &used,
                                                 &n));
            PD_OK(st);
            if (st != MFP_OAUTH_STATUS_OK) break;
            pd_wire(out, n);
            off += used;
          }
          PD_OK(mfp_oauth_mailer_smtp_finish_body(&pd_mailer, pd_now));
        } else if (s.smtp.kind == MFP_OAUTH_SMTP_EVENT_KIND_FAILED ||
                   s.smtp.kind == MFP_OAUTH_SMTP_EVENT_KIND_AUTH_REJECTED) {
          printf("FAIL smtp event E%u\n", (unsigned)s.smtp.diag);
          pd_failed++;
        }
        break;
      default: break;
    }
  }
}

/* What the server sent goes into the mailer's session; the octets it took
 * leave the socket's buffer. */
static mfp_oauth_status pd_feed_input(void) {
  if (pd_srv.inbox_len == 0) return MFP_OAUTH_STATUS_OK;
  size_t used = 0;
  mfp_oauth_status st = PD_MEASURED(
      "mfp_oauth_mailer_smtp_handle_input",
      mfp_oauth_mailer_smtp_handle_input(&pd_mailer, pd_now, (const uint8_t *)pd_srv.inbox,
                                         pd_srv.inbox_len, &used));
  if (st != MFP_OAUTH_STATUS_OK || used > pd_srv.inbox_len) return st;
  memmove(pd_srv.inbox, pd_srv.inbox + used, pd_srv.inbox_len - used);
  pd_srv.inbox_len -= used;
  return MFP_OAUTH_STATUS_OK;
}

/* Carries what the mailer's session has to send to the server (`pd_wire`)
 * and returns the octets sent. A transmit marked sensitive (it carries the
 * token) is counted, and counted again if it went before TLS was up. */
static size_t pd_transmit(void) {
  uint8_t out[512];
  size_t sent = 0;
  for (;;) {
    size_t n = 0;
    bool sensitive = false;
    mfp_oauth_status st = PD_MEASURED(
        "mfp_oauth_mailer_smtp_poll_transmit",
        mfp_oauth_mailer_smtp_poll_transmit(&pd_mailer, pd_now, out, sizeof out, &n, &sensitive));
    if (st != MFP_OAUTH_STATUS_OK || n == 0) return sent;
    pd_srv.sensitive += sensitive;
    if (sensitive && !pd_srv.tls) pd_srv.sensitive_in_clear++;
    pd_wire(out, n);
    sent += n;
  }
}

/* The SESSION plan: pumps the connection until the plan changes. */
static void pd_session(mfp_oauth_plan *plan) {
  pd_server_open(pd_smtp_script, PD_SCRIPT_LEN);
  pd_server_says("220 SN4PR0501CA0054.outlook.office365.com Microsoft ESMTP MAIL Service ready\r\n");
  for (int turn = 0; turn < 60; turn++) {
    PD_OK(pd_feed_input());
    if (pd_steps()) break;
    pd_transmit();
  }
  PD_OK(mfp_oauth_mailer_plan(&pd_mailer, plan));
  PD_CHECK(pd_srv.step == PD_SCRIPT_LEN);
  PD_CHECK(pd_srv.sensitive == 1); /* the AUTH line, nothing else */
  PD_CHECK(pd_srv.sensitive_in_clear == 0);
}

static void pd_send_scan(mfp_oauth_plan *plan) {
  mfp_oauth_str to = PD_STR("alice@contoso.com");
  mfp_oauth_job job;
  memset(&job, 0, sizeof job);
  job.function = MFP_OAUTH_FUNCTION_SCAN_TO_EMAIL;
  job.to = &to;
  job.to_count = 1;
  job.size = sizeof pd_body - 1;
  PD_OK(PD_MEASURED("mfp_oauth_mailer_submit", mfp_oauth_mailer_submit(&pd_mailer, pd_now, &job, plan)));
}

/* A logged-in user sends a Scan to Me (their address is both From and
 * To); returns the plan's kind. */
static mfp_oauth_plan_kind pd_user_sends(const char *id, mfp_oauth_plan *plan) {
  static char address[64];
  snprintf(address, sizeof address, "%s@contoso.com", id);
  mfp_oauth_str to = {address, strlen(address)};
  mfp_oauth_job job;
  memset(&job, 0, sizeof job);
  job.function = MFP_OAUTH_FUNCTION_SCAN_TO_ME;
  job.user_id = (mfp_oauth_str){id, strlen(id)};
  job.user_address = to;
  job.to = &to;
  job.to_count = 1;
  PD_OK(mfp_oauth_mailer_submit(&pd_mailer, pd_now, &job, plan));
  return plan->kind;
}

static void pd_connect_and_send(mfp_oauth_plan *plan) {
  PD_CHECK(plan->kind == MFP_OAUTH_PLAN_KIND_CONNECT);
  PD_CHECK(strcmp(plan->host, "smtp.office365.com") == 0 && plan->port == 587);
  PD_OK(PD_MEASURED("mfp_oauth_mailer_connected",
                    mfp_oauth_mailer_connected(&pd_mailer, pd_now, "mfp-3f.contoso.com", 18, plan)));
  PD_CHECK(plan->kind == MFP_OAUTH_PLAN_KIND_SESSION);
  pd_steps();
  pd_session(plan);
  PD_CHECK(plan->kind == MFP_OAUTH_PLAN_KIND_DONE);
  PD_CHECK(plan->reply_code == 250 && plan->accepted == 1);
}

/* ---- the mail API (Microsoft Graph) -------------------------------------- */

/* Graph's sendMail as a server: it reads each request's head, refuses the
 * first with 429 and Retry-After before its body (Expect: 100-continue),
 * answers the next with 100 Continue, takes its body (Content-Length
 * octets, the message in base64) and answers 202. */
static struct {
  char head[1024];
  size_t head_len;
  size_t body_left, body_len;
  int requests, throttle;
} pd_api;

static void pd_api_head(void) {
  const char *start = "POST /v1.0/me/sendMail HTTP/1.1\r\nHost: graph.microsoft.com\r\n";
  PD_CHECK(strncmp(pd_api.head, start, strlen(start)) == 0);
  PD_CHECK(strstr(pd_api.head, "\r\nAuthorization: Bearer EwBgGraphAccessTokenForSendMail\r\n") != NULL);
  PD_CHECK(strstr(pd_api.head, "\r\nExpect: 100-continue\r\n") != NULL);
  const char *cl = strstr(pd_api.head, "\r\nContent-Length: ");
  PD_CHECK(cl != NULL);
  size_t len = cl ? (size_t)strtoul(cl + 18, NULL, 10) : 0;
  pd_api.requests++;
  if (pd_api.throttle) {
    pd_api.throttle = 0;
    pd_server_says("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n");
    return;
  }
  pd_api.body_left = len;
  pd_api.body_len = 0;
  pd_server_says("HTTP/1.1 100 Continue\r\n\r\n");
}

static void pd_api_receive(const uint8_t *data, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (pd_api.body_left > 0) {
      pd_api.body_len++;
      if (--pd_api.body_left == 0)
        pd_server_says("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
      continue;
    }
    PD_CHECK(pd_api.head_len < sizeof pd_api.head - 1);
    if (pd_api.head_len >= sizeof pd_api.head - 1) return;
    pd_api.head[pd_api.head_len++] = (char)data[i];
    pd_api.head[pd_api.head_len] = 0;
    if (pd_api.head_len >= 4 && strcmp(pd_api.head + pd_api.head_len - 4, "\r\n\r\n") == 0) {
      pd_api_head();
      pd_api.head_len = 0;
    }
  }
}

/* The CONNECT plan of an API job: TLS to Graph from the start; then the
 * session is pumped until the plan changes (a retry's CONNECT, or the
 * job's end). Time moves to the session's deadline when nothing is due
 * (the wait that Retry-After asked for). */
static void pd_api_connection(mfp_oauth_plan *plan) {
  PD_CHECK(plan->kind == MFP_OAUTH_PLAN_KIND_CONNECT);
  PD_CHECK(strcmp(plan->host, "graph.microsoft.com") == 0 && plan->port == 443);
  PD_CHECK(plan->security == MFP_OAUTH_SMTP_SECURITY_IMPLICIT_TLS);
  pd_server_open(NULL, 0);
  pd_srv.tls = 1; /* implicit TLS: the firmware's TLS stack is up first */
  pd_api.head_len = 0;
  pd_api.body_left = 0;
  PD_OK(PD_MEASURED("mfp_oauth_mailer_connected",
                    mfp_oauth_mailer_connected(&pd_mailer, pd_now, "mfp-3f.contoso.com", 18, plan)));
  PD_CHECK(plan->kind == MFP_OAUTH_PLAN_KIND_SESSION);
  for (int turn = 0; turn < 60; turn++) {
    PD_OK(pd_feed_input());
    if (pd_steps()) break;
    if (pd_transmit() == 0 && pd_srv.inbox_len == 0) {
      uint64_t deadline = MFP_OAUTH_NO_DEADLINE;
      PD_OK(mfp_oauth_mailer_smtp_poll_timeout(&pd_mailer, &deadline));
      if (deadline != MFP_OAUTH_NO_DEADLINE && deadline > pd_now) {
        pd_now = deadline;
        PD_OK(mfp_oauth_mailer_smtp_handle_timeout(&pd_mailer, pd_now));
      }
    }
  }
  PD_OK(mfp_oauth_mailer_plan(&pd_mailer, plan));
  PD_CHECK(pd_srv.sensitive == 1); /* the request's head, with the token */
}

static mfp_oauth_token_status pd_admin_status(void) {
  mfp_oauth_token_status st = 99;
  PD_OK(mfp_oauth_mailer_token_status(&pd_mailer, NULL, 0, &st));
  return st;
}

int printer_day(void) {
  mfp_oauth_settings s = pd_settings();
  mfp_oauth_plan plan;
  mfp_oauth_nv_report report;

  /* First start: both slots erased (NULL, 0 reads as erased). Only
   * NV_EMPTY may lead to create: after any other load error, creating and
   * saving a fresh image would erase the other slot and its refresh token. */
  PD_CHECK(mfp_oauth_mailer_load(&pd_mailer, pd_users, PD_USER_SLOTS, NULL, 0, NULL, 0, NULL,
                                 &report) == MFP_OAUTH_STATUS_NV_EMPTY);
  PD_OK(PD_MEASURED("mfp_oauth_mailer_create",
                    mfp_oauth_mailer_create(&pd_mailer, pd_users, PD_USER_SLOTS, &s)));
  /* A second create over the live mailer is refused, never a silent reset
   * (and the user slots it holds are left as they are). */
  PD_CHECK(mfp_oauth_mailer_create(&pd_mailer, pd_users, PD_USER_SLOTS, &s) ==
           MFP_OAUTH_STATUS_WRONG_STATE);
  PD_CHECK(pd_admin_status() == MFP_OAUTH_TOKEN_STATUS_REQUIRED);

  /* 1. A scan before Acquire: the administrator must sign in first (R-RULE-5). */
  pd_send_scan(&plan);
  PD_CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_NEED_ADMIN_AUTH);
  PD_CHECK(plan.method == MFP_OAUTH_AUTH_METHOD_DEVICE_CODE);
  PD_CHECK(strcmp(plan.account, "admin@contoso.com") == 0);
  PD_OK(mfp_oauth_mailer_auth_failed(&pd_mailer, MFP_OAUTH_STATUS_ADMIN_TOKEN_REQUIRED, &plan));
  PD_CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_FAILED && plan.diag == MFP_OAUTH_STATUS_ADMIN_TOKEN_REQUIRED);

  /* 2. Acquire in Configuration OAuth, with the device flow. */
  PD_OK(PD_MEASURED("mfp_oauth_token_client_create",
                    mfp_oauth_token_client_create(&pd_shared.tokens, &s, 0x5eed)));
  PD_OK(mfp_oauth_token_client_start_device(&pd_shared.tokens, pd_now));
  const char *acquire[] = {PD_DEVICE_JSON, PD_TOKEN_JSON};
  PD_CHECK(pd_token_flow(acquire, 2, "/contoso.onmicrosoft.com/oauth2/v2.0/devicecode", 0));
  PD_OK(PD_MEASURED("mfp_oauth_mailer_acquire_admin",
                    mfp_oauth_mailer_acquire_admin(&pd_mailer, pd_now, 1764000000, &pd_shared.tokens)));
  PD_CHECK(pd_admin_status() == MFP_OAUTH_TOKEN_STATUS_ACQUIRED);
  pd_steps();
  PD_CHECK(pd_persisted == 1);
  pd_send_scan(&plan);

  /* 3. The scan goes out; the server's reply goes to the support log. */
  pd_connect_and_send(&plan);
  printf("scan 1: sent (%u %u)\n", (unsigned)plan.reply_code, (unsigned)plan.accepted);
  {
    char reply[MFP_OAUTH_REPLY_TEXT_BUF_LEN];
    uint32_t code = 0;
    size_t len = 0;
    PD_OK(mfp_oauth_mailer_last_reply(&pd_mailer, &code, reply, sizeof reply, &len));
    PD_CHECK(code == 250 && strstr(reply, "Queued mail for delivery") != NULL);
    printf("support log: %u %s\n", (unsigned)code, reply);
  }

  /* 4. Power cycle: RAM is gone, the flash stays. */
  PD_OK(mfp_oauth_token_client_destroy(&pd_shared.tokens));
  PD_OK(mfp_oauth_mailer_destroy(&pd_mailer));
  pd_now = 5000; /* the clock restarts after a reset */
  /* Flash that is not memory-mapped is read through the driver, a piece at
   * a time; the token client's storage, free at power-on (no client is
   * created yet), holds the image's records. */
  mfp_oauth_slot_reader reader = {pd_flash_read, NULL, sizeof pd_flash[0], sizeof pd_flash[1]};
  PD_OK(PD_MEASURED("mfp_oauth_mailer_load_from",
                    mfp_oauth_mailer_load_from(&pd_mailer, pd_users, PD_USER_SLOTS, &reader,
                                               (uint8_t *)&pd_shared.tokens,
                                               sizeof pd_shared.tokens, NULL, &report)));
  PD_CHECK(report.slot == MFP_OAUTH_NV_SLOT_A && report.other == MFP_OAUTH_NV_SLOT_STATE_EMPTY);
  PD_CHECK(pd_admin_status() == MFP_OAUTH_TOKEN_STATUS_ACQUIRED);
  /* Memory-mapped flash is read in place: the same state. */
  PD_OK(mfp_oauth_mailer_destroy(&pd_mailer));
  PD_OK(PD_MEASURED("mfp_oauth_mailer_load",
                    mfp_oauth_mailer_load(&pd_mailer, pd_users, PD_USER_SLOTS, pd_flash[0],
                                          pd_flash_len[0], pd_flash[1], pd_flash_len[1], NULL,
                                          &report)));
  PD_CHECK(report.slot == MFP_OAUTH_NV_SLOT_A && report.other == MFP_OAUTH_NV_SLOT_STATE_EMPTY);
  PD_CHECK(pd_admin_status() == MFP_OAUTH_TOKEN_STATUS_ACQUIRED);
  /* The panel reads the persisted settings back. */
  mfp_oauth_settings back;
  PD_OK(mfp_oauth_mailer_settings(&pd_mailer, &back));
  PD_CHECK(back.oauth_enabled && back.provider == MFP_OAUTH_PROVIDER_MICROSOFT);
  PD_CHECK(back.admin_address.len == 17 && memcmp(back.admin_address.ptr, "admin@contoso.com", 17) == 0);
  PD_CHECK(back.smtp_host.len == 18 && memcmp(back.smtp_host.ptr, "smtp.office365.com", 18) == 0);
  PD_CHECK(back.smtp_port == 587 && back.sender_mode == MFP_OAUTH_SENDER_MODE_ADMIN_FIXED_ADDRESS);
  /* Applying what was read back, with a field changed, keeps the rest: the
   * Send-As list comes back, a proxy password is kept, never read back. */
  PD_CHECK(back.proxy_password_keep && back.send_as_count == 0 && back.proxy_password.len == 0);

  /* 5. The next scan refreshes first (no access token survives). */
  pd_send_scan(&plan);
  PD_CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_TOKEN_EXCHANGE);
  PD_OK(mfp_oauth_token_client_create(&pd_shared.tokens, &s, 0x5eed));
  PD_OK(PD_MEASURED("mfp_oauth_mailer_start_refresh",
                    mfp_oauth_mailer_start_refresh(&pd_mailer, pd_now, &pd_shared.tokens)));
  const char *refresh[] = {PD_REFRESHED_JSON};
  PD_CHECK(pd_token_flow(refresh, 1, "grant_type=refresh_token", 1));
  PD_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  pd_steps();
  PD_CHECK(pd_persisted == 2); /* the rotated refresh token, in slot B */
  PD_CHECK(pd_flash_len[1] > 0);
  pd_connect_and_send(&plan);
  printf("scan 2 after power cycle and refresh: sent\n");

  /* 6. Login-user mode with automatic deletion (R-TOK-5). */
  s.sender_mode = MFP_OAUTH_SENDER_MODE_LOGIN_USER_ADDRESS;
  s.auto_delete_user_tokens = true;
  /* The draft shares the token client's memory: refused while the client
   * lives there, untouched; applied once it is destroyed. */
  PD_CHECK(mfp_oauth_mailer_apply_settings(&pd_mailer, &s, &pd_shared.draft) ==
           MFP_OAUTH_STATUS_WRONG_STATE);
  PD_OK(mfp_oauth_token_client_destroy(&pd_shared.tokens));
  PD_OK(PD_MEASURED("mfp_oauth_mailer_apply_settings",
                    mfp_oauth_mailer_apply_settings(&pd_mailer, &s, &pd_shared.draft)));
  pd_steps();
  PD_OK(mfp_oauth_token_client_create(&pd_shared.tokens, &s, 0x5eed));
  /* Four users sign in, one slot each (PD_USER_SLOTS): each at the panel
   * when sending, with the device code; the connection then fails, and
   * the token stays. */
  static const char *const pd_user_ids[PD_USER_SLOTS] = {"bob", "carol", "dave", "erin"};
  for (size_t i = 0; i < PD_USER_SLOTS; i++) {
    PD_CHECK(pd_user_sends(pd_user_ids[i], &plan) == MFP_OAUTH_PLAN_KIND_NEED_USER_AUTH);
    PD_CHECK(strcmp(plan.user_id, pd_user_ids[i]) == 0);
    PD_OK(mfp_oauth_token_client_start_device(&pd_shared.tokens, pd_now));
    PD_CHECK(pd_token_flow(acquire, 2, NULL, 0));
    PD_OK(mfp_oauth_mailer_auth_succeeded(&pd_mailer, pd_now, 1764007200, &pd_shared.tokens, &plan));
    PD_CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_CONNECT);
    PD_OK(mfp_oauth_mailer_cancel(&pd_mailer, pd_now, MFP_OAUTH_STATUS_CONNECT_FAILED, &plan));
    pd_steps();
  }
  /* A fifth user finds every slot taken: told at once, before signing in. */
  PD_CHECK(pd_user_sends("frank", &plan) == MFP_OAUTH_PLAN_KIND_FAILED);
  PD_CHECK(plan.diag == MFP_OAUTH_STATUS_TOKEN_STORE_FULL);
  mfp_oauth_token_status bob = 99;
  PD_OK(mfp_oauth_mailer_token_status(&pd_mailer, "bob", 3, &bob));
  PD_CHECK(bob == MFP_OAUTH_TOKEN_STATUS_ACQUIRED);
  /* The panel's token list. */
  size_t users = 0;
  bool notice = true;
  mfp_oauth_user_token u;
  PD_OK(mfp_oauth_mailer_token_overview(&pd_mailer, &users, &notice));
  PD_CHECK(users == PD_USER_SLOTS && !notice);
  PD_OK(mfp_oauth_mailer_user_token(&pd_mailer, 0, &u));
  PD_CHECK(strcmp(u.user_id, "bob") == 0 && strcmp(u.account, "bob@contoso.com") == 0);
  PD_CHECK(u.status == MFP_OAUTH_TOKEN_STATUS_ACQUIRED);
  PD_CHECK(mfp_oauth_mailer_user_token(&pd_mailer, PD_USER_SLOTS, &u) ==
           MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  /* Each logout deletes that user's tokens (automatic deletion on). */
  for (size_t i = 0; i < PD_USER_SLOTS; i++) {
    const char *id = pd_user_ids[i];
    bool deleted = false;
    if (i == 0) {
      PD_OK(PD_MEASURED("mfp_oauth_mailer_logout",
                        mfp_oauth_mailer_logout(&pd_mailer, id, strlen(id), &deleted)));
    } else {
      PD_OK(mfp_oauth_mailer_logout(&pd_mailer, id, strlen(id), &deleted));
    }
    PD_CHECK(deleted);
  }
  PD_OK(mfp_oauth_mailer_token_status(&pd_mailer, "bob", 3, &bob));
  PD_CHECK(bob == MFP_OAUTH_TOKEN_STATUS_REQUIRED);
  PD_OK(mfp_oauth_mailer_token_overview(&pd_mailer, &users, &notice));
  PD_CHECK(users == 0);
  pd_steps();
  printf("%d users signed in, one slot each; a fifth was told they are taken\n", PD_USER_SLOTS);

  /* 7. The transport becomes Microsoft Graph: Graph's scope is not the
   * SMTP tokens', so they go, and the next scan signs the administrator
   * in within the job; the token client reports to the mailer itself. */
  s.sender_mode = MFP_OAUTH_SENDER_MODE_ADMIN_FIXED_ADDRESS;
  s.transport = MFP_OAUTH_TRANSPORT_GRAPH;
  PD_OK(mfp_oauth_token_client_destroy(&pd_shared.tokens));
  PD_OK(mfp_oauth_mailer_apply_settings(&pd_mailer, &s, &pd_shared.draft));
  pd_steps();
  PD_CHECK(pd_admin_status() == MFP_OAUTH_TOKEN_STATUS_REQUIRED);
  pd_send_scan(&plan);
  PD_CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_NEED_ADMIN_AUTH);
  PD_OK(mfp_oauth_token_client_create(&pd_shared.tokens, &s, 0x5eed));
  PD_OK(mfp_oauth_token_client_start_device(&pd_shared.tokens, pd_now));
  const char *graph_acquire[] = {PD_DEVICE_JSON, PD_GRAPH_TOKEN_JSON};
  PD_CHECK(pd_token_flow(graph_acquire, 2, NULL, 1));
  PD_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  pd_steps();
  PD_CHECK(pd_admin_status() == MFP_OAUTH_TOKEN_STATUS_ACQUIRED);
  /* Throttled once before the body, then sent on a new connection. */
  memset(&pd_api, 0, sizeof pd_api);
  pd_api.throttle = 1;
  pd_wire = pd_api_receive;
  pd_api_connection(&plan);
  PD_CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_CONNECT && pd_api.requests == 1);
  pd_api_connection(&plan);
  pd_wire = pd_server_receive;
  PD_CHECK(pd_api.requests == 2 && pd_api.body_len == 4 * ((sizeof pd_body - 1 + 2) / 3));
  PD_CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_DONE && plan.reply_code == 202 && plan.accepted == 1);
  printf("scan 3 through Microsoft Graph, once throttled: sent (%u)\n", (unsigned)plan.reply_code);

  /* 8. The firmware seals the secrets with its device key: the next image
   * is sealed, and after a power cycle both ways of loading open it (the
   * deepest path of _load and _load_from, measured here too). */
  static const uint8_t key[MFP_OAUTH_DEVICE_KEY_LEN] = {
      0x6d, 0x66, 0x70, 0x2d, 0x6f, 0x61, 0x75, 0x74, 0x68, 0x20, 0x64, 0x65, 0x76, 0x69, 0x63, 0x65,
      0x20, 0x6b, 0x65, 0x79, 0x20, 0x66, 0x6f, 0x72, 0x20, 0x74, 0x68, 0x65, 0x20, 0x64, 0x61, 0x79};
  const uint8_t random[MFP_OAUTH_SEAL_RANDOM_LEN] = {1, 2, 3, 4, 5, 6, (uint8_t)pd_now};
  mfp_oauth_nv_slot sealed = pd_persist_sealed(key, random);
  PD_OK(mfp_oauth_token_client_destroy(&pd_shared.tokens));
  PD_OK(mfp_oauth_mailer_destroy(&pd_mailer));
  PD_OK(PD_MEASURED("mfp_oauth_mailer_load_from",
                    mfp_oauth_mailer_load_from(&pd_mailer, pd_users, PD_USER_SLOTS, &reader,
                                               (uint8_t *)&pd_shared.tokens,
                                               sizeof pd_shared.tokens, key, &report)));
  PD_CHECK(report.slot == sealed && pd_admin_status() == MFP_OAUTH_TOKEN_STATUS_ACQUIRED);
  PD_OK(mfp_oauth_mailer_destroy(&pd_mailer));
  PD_OK(PD_MEASURED("mfp_oauth_mailer_load",
                    mfp_oauth_mailer_load(&pd_mailer, pd_users, PD_USER_SLOTS, pd_flash[0],
                                          pd_flash_len[0], pd_flash[1], pd_flash_len[1], key,
                                          &report)));
  PD_CHECK(report.slot == sealed && pd_admin_status() == MFP_OAUTH_TOKEN_STATUS_ACQUIRED);
  /* Without the key, the sealed image does not open, and nothing is made
   * (the firmware keeps both slots and reports it). */
  PD_OK(mfp_oauth_mailer_destroy(&pd_mailer));
  PD_CHECK(mfp_oauth_mailer_load(&pd_mailer, pd_users, PD_USER_SLOTS, pd_flash[0],
                                 pd_flash_len[0], pd_flash[1], pd_flash_len[1], NULL,
                                 &report) == MFP_OAUTH_STATUS_NV_SEAL_OPEN_FAILED);
  printf("sealed image: written to slot %u, opened after a power cycle\n", (unsigned)sealed);
  printf("printer day: %d checks passed, %d failed\n", pd_passed, pd_failed);
  /* What the firmware lends the library for the day (R-MEM); the size
   * report adds these lines up. The administrator and the 4 users of step
   * 6: a printer that keeps more users signed in lends a slot more each. */
  printf("lent: mfp_oauth_mailer %u\n", (unsigned)sizeof pd_mailer);
  printf("lent: %d mfp_oauth_user_slot %u\n", PD_USER_SLOTS, (unsigned)sizeof pd_users);
  printf("lent: mfp_oauth_token_client in a union with mfp_oauth_settings_draft %u\n",
         (unsigned)sizeof pd_shared);
  printf("lent: token request buffer %u\n", (unsigned)sizeof pd_request);
  printf("lent: image page %u\n", (unsigned)sizeof pd_page);
  return pd_failed;
}

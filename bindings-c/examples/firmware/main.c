/* A printer's day on a Cortex-M4F, through the C API only (R-BARE, R-FFI):
 * the diagnostics, a scan-to-email SMTP session through Microsoft 365, the
 * device flow with the RFC 8628 vectors, then printer_day.c (the mailer:
 * Acquire, send, power cycle with a RAM "flash", refresh, auto-delete),
 * against scripted servers.
 *
 * Runs under qemu-system-arm -M mps2-an386 with semihosting; exits 0 only if
 * every check passes. Along the way it measures the stack high-water mark of
 * the library's entry points by painting the stack (lines "stack: <entry>
 * <bytes>", read by tools/size-report.sh). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mfp_oauth.h"

static int passed, failed;

#define CHECK(cond)                                                    \
  do {                                                                 \
    if (cond) {                                                        \
      passed++;                                                        \
    } else {                                                           \
      failed++;                                                        \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);           \
    }                                                                  \
  } while (0)

#define CHECK_OK(call)                                                 \
  do {                                                                 \
    mfp_oauth_status s_ = (call);                                      \
    if (s_ == MFP_OAUTH_STATUS_OK) {                                   \
      passed++;                                                        \
    } else {                                                           \
      failed++;                                                        \
      printf("FAIL %s:%d: %s -> %s\n", __FILE__, __LINE__, #call,      \
             mfp_oauth_status_str(s_));                                \
    }                                                                  \
  } while (0)

/* ---- stack painting ---------------------------------------------------- */

extern uint32_t _stack_bottom[], _estack[];
#define PAINT 0xA5C3F00Du

/* The guard: the lowest GUARD_BYTES of the main stack stay painted for the
 * whole day. The linker script sizes the stack (build.sh: FW_STACK, 8 KiB
 * in CI); a call that reaches the guard fails the run, so the stack the
 * library needs cannot grow back unnoticed (R-MEM). */
#define GUARD_BYTES 256u
static int guard_hit, painted;

static void check_guard(const char *after) {
  if (!painted) return;
  const uint32_t *p = _stack_bottom;
  const uint32_t *end = _stack_bottom + GUARD_BYTES / 4;
  while (p < end && *p == PAINT) p++;
  if (p < end) {
    guard_hit++;
    printf("FAIL stack guard: the main stack (%u B) overflowed, by %s\n",
           (unsigned)((uintptr_t)_estack - (uintptr_t)_stack_bottom), after);
    /* Painted again, so that the next overflow is seen too. */
    for (volatile uint32_t *q = _stack_bottom; q < end; q++) *q = PAINT;
  }
}

static inline uintptr_t current_sp(void) {
  uintptr_t sp;
  __asm volatile("mov %0, sp" : "=r"(sp));
  return sp;
}

/* Paints from the bottom of the stack up to a little below the caller's
 * frame. Not inlined, so that its own frame is below the caller's. */
__attribute__((noinline)) static void paint_stack(void) {
  check_guard("a call since the last measured one");
  uint32_t *top = (uint32_t *)(current_sp() - 64);
  for (volatile uint32_t *p = _stack_bottom; p < top; p++) *p = PAINT;
  painted = 1;
}

/* Calls `fn` on a painted stack and prints how deep it went, in bytes from
 * the caller's stack pointer (the C wrapper's own small frame included). */
__attribute__((noinline)) static void measure_stack(const char *entry, void (*fn)(void)) {
  paint_stack();
  uintptr_t sp = current_sp();
  fn();
  check_guard(entry);
  const uint32_t *p = _stack_bottom;
  while (*p == PAINT) p++;
  printf("stack: %s %u\n", entry, (unsigned)(sp - (uintptr_t)p));
}

/* Per entry point high-water marks, over every call made through MEASURED. */
#define MAX_ENTRIES 48
static struct {
  const char *name;
  unsigned max;
} entries[MAX_ENTRIES];

static void record(const char *name, uintptr_t sp) {
  check_guard(name);
  const uint32_t *p = _stack_bottom;
  while (*p == PAINT) p++;
  unsigned used = (unsigned)(sp - (uintptr_t)p);
  for (int i = 0; i < MAX_ENTRIES; i++) {
    if (entries[i].name == NULL) entries[i].name = name;
    if (strcmp(entries[i].name, name) == 0) {
      if (used > entries[i].max) entries[i].max = used;
      return;
    }
  }
}

/* Evaluates one library call on a painted stack and records its depth. */
#define MEASURED(name, call)                   \
  __extension__({                              \
    paint_stack();                             \
    uintptr_t sp_ = current_sp();              \
    mfp_oauth_status r_ = (call);              \
    record(name, sp_);                         \
    r_;                                        \
  })

static void print_entries(void) {
  for (int i = 0; i < MAX_ENTRIES && entries[i].name; i++)
    printf("stack: %s %u\n", entries[i].name, entries[i].max);
}

/* ---- the day ------------------------------------------------------------- */

/* A message needs at most 256 octets, a remedy 512 (the header says so). */
static char panel[512];
static size_t panel_len;
static mfp_oauth_status last;

/* The panel explains a failure in the machine's language. */
static void show_diag_fr(void) {
  last = mfp_oauth_diag_message(MFP_OAUTH_STATUS_SMTP_AUTH_DISABLED, MFP_OAUTH_LANG_FR, panel,
                                sizeof panel, &panel_len);
}

static void show_remedy_en(void) {
  last = mfp_oauth_diag_remedy(MFP_OAUTH_STATUS_SMTP_AUTH_DISABLED, MFP_OAUTH_LANG_EN, panel,
                               sizeof panel, &panel_len);
}

static void morning_self_check(void) {
  printf("mfp_oauth %s\n", mfp_oauth_version());

  /* The whole catalogue is there, in both languages. */
  size_t count = 0;
  CHECK_OK(mfp_oauth_diag_count(&count));
  CHECK(count >= 90);
  for (size_t i = 0; i < count; i++) {
    uint32_t id = 0;
    size_t n = 0;
    CHECK_OK(mfp_oauth_diag_id(i, &id));
    CHECK_OK(mfp_oauth_diag_message(id, MFP_OAUTH_LANG_FR, panel, sizeof panel, &n));
    CHECK_OK(mfp_oauth_diag_remedy(id, MFP_OAUTH_LANG_EN, panel, sizeof panel, &n));
  }

  measure_stack("mfp_oauth_diag_message", show_diag_fr);
  CHECK(last == MFP_OAUTH_STATUS_OK);
  CHECK(strstr(panel, "SMTP") != NULL);
  printf("panel: E%u %s\n", (unsigned)MFP_OAUTH_STATUS_SMTP_AUTH_DISABLED, panel);

  measure_stack("mfp_oauth_diag_remedy", show_remedy_en);
  CHECK(last == MFP_OAUTH_STATUS_OK);
  CHECK(strstr(panel, "Authenticated SMTP") != NULL);

  /* Misuse is reported, never undefined. */
  size_t n = 0;
  CHECK(mfp_oauth_diag_message(305, 7, panel, sizeof panel, &n) ==
        MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK(mfp_oauth_diag_message(305, MFP_OAUTH_LANG_EN, panel, 4, &n) ==
        MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  CHECK(n > 4);
  CHECK(mfp_oauth_diag_message(305, MFP_OAUTH_LANG_EN, NULL, 4, &n) ==
        MFP_OAUTH_STATUS_NULL_PARAMETER);
  CHECK(strcmp(mfp_oauth_status_str(MFP_OAUTH_STATUS_WRONG_STATE),
               "MFP_OAUTH_STATUS_WRONG_STATE") == 0);
}

/* The rest of the day (the mailer: Acquire, send, power cycle, refresh,
 * delete) and the scripted servers it shares with the direct session below. */
#define PD_MEASURED(name, call) MEASURED(name, call)
#include "printer_day.c"

/* ---- a scan to e-mail through Microsoft 365 ----------------------------- */

#define USER "scanner@contoso.com"
#define TOKEN "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA"

/* What the scripted server expects and answers (see printer_day.c). */
static const pd_exchange script[] = {
    {"EHLO printer.example.com",
     "250-SN4PR0501CA0054.outlook.office365.com Hello [203.0.113.7]\r\n250-SIZE 157286400\r\n"
     "250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250 SMTPUTF8\r\n"},
    {"STARTTLS", "220 2.0.0 SMTP server ready\r\n"},
    {"EHLO printer.example.com",
     "250-SN4PR0501CA0054.outlook.office365.com Hello [203.0.113.7]\r\n250-SIZE 157286400\r\n"
     "250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-AUTH LOGIN XOAUTH2\r\n250 SMTPUTF8\r\n"},
    {"AUTH XOAUTH2 dXNlcj1zY2FubmVyQGNvbnRvc28uY29tAWF1dGg9QmVhcmVyIEV3QkFBbDNCQUFVRkZwVUFvN0ozVmUwYmpMQldaV0NjbFJDM0VvQUEBAQ==",
     "235 2.7.0 Authentication successful\r\n"},
    {"MAIL FROM:<scanner@contoso.com>", NULL},
    {"RCPT TO:<alice@contoso.com>", NULL},
    {"DATA", "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 Start mail input\r\n"},
    {"From: scanner@contoso.com", NULL},
    {"To: alice@contoso.com", NULL},
    {"Subject: Scan from MFP", NULL},
    {"", NULL},
    {"Page 1 of the scan.", NULL},
    {"..dot-stuffed line", NULL},
    {".", "250 2.0.0 OK <DM6PR@contoso.com> Queued mail for delivery\r\n"},
    {"QUIT", "221 2.0.0 Service closing transmission channel\r\n"},
};
#define SCRIPT_LEN (sizeof script / sizeof script[0])

static const char body[] =
    "From: scanner@contoso.com\r\nTo: alice@contoso.com\r\nSubject: Scan from MFP\r\n\r\n"
    "Page 1 of the scan.\r\n.dot-stuffed line\r\n";

static mfp_oauth_smtp session; /* the caller's storage: static, 12.8 KB */
static uint64_t now_ms = 1000;
static int message_sent, closed, session_ok;
static size_t body_off;

static void send_scan(void) {
  mfp_oauth_str to = {"alice@contoso.com", 17};
  CHECK_OK(MEASURED("mfp_oauth_smtp_send_message", mfp_oauth_smtp_send_message(&session, now_ms, USER, strlen(USER), &to, 1,
                                       sizeof body - 1)));
}

static void stream_body(void) {
  uint8_t out[64];
  while (body_off < sizeof body - 1) {
    size_t consumed = 0, written = 0;
    mfp_oauth_status s = MEASURED("mfp_oauth_smtp_write_body", mfp_oauth_smtp_write_body(&session, (const uint8_t *)body + body_off,
                                                   sizeof body - 1 - body_off, out, sizeof out,
                                                   &consumed, &written));
    CHECK_OK(s);
    if (s != MFP_OAUTH_STATUS_OK) return;
    pd_server_receive(out, written);
    body_off += consumed;
  }
  CHECK_OK(MEASURED("mfp_oauth_smtp_finish_body", mfp_oauth_smtp_finish_body(&session, now_ms)));
}

/* One turn of the firmware's network task: input, events, output. */
static void session_turn(void) {
  if (pd_srv.inbox_len > 0) {
    size_t used = 0;
    CHECK_OK(MEASURED("mfp_oauth_smtp_handle_input", mfp_oauth_smtp_handle_input(&session, now_ms, (const uint8_t *)pd_srv.inbox,
                                         pd_srv.inbox_len, &used)));
    memmove(pd_srv.inbox, pd_srv.inbox + used, pd_srv.inbox_len - used);
    pd_srv.inbox_len -= used;
  }
  mfp_oauth_smtp_event e;
  for (;;) {
    CHECK_OK(MEASURED("mfp_oauth_smtp_poll_event", mfp_oauth_smtp_poll_event(&session, &e)));
    if (e.kind == MFP_OAUTH_SMTP_EVENT_KIND_NONE) break;
    switch (e.kind) {
      case MFP_OAUTH_SMTP_EVENT_KIND_UPGRADE_TLS:
        pd_srv.tls = 1; /* the firmware's TLS stack would handshake here */
        CHECK_OK(MEASURED("mfp_oauth_smtp_handle_tls_established", mfp_oauth_smtp_handle_tls_established(&session, now_ms)));
        break;
      case MFP_OAUTH_SMTP_EVENT_KIND_READY:
        if (!message_sent) send_scan();
        else CHECK_OK(MEASURED("mfp_oauth_smtp_quit", mfp_oauth_smtp_quit(&session, now_ms)));
        break;
      case MFP_OAUTH_SMTP_EVENT_KIND_READY_FOR_BODY: stream_body(); break;
      case MFP_OAUTH_SMTP_EVENT_KIND_MESSAGE_SENT:
        CHECK(e.reply_code == 250 && e.accepted == 1 && e.refused == 0);
        message_sent = 1;
        break;
      case MFP_OAUTH_SMTP_EVENT_KIND_CLOSED: closed = 1; break;
      case MFP_OAUTH_SMTP_EVENT_KIND_AUTHENTICATING:
      case MFP_OAUTH_SMTP_EVENT_KIND_AUTHENTICATED: break;
      default:
        printf("FAIL unexpected event %u (E%u)\n", (unsigned)e.kind, (unsigned)e.diag);
        failed++;
        break;
    }
  }
  uint8_t out[512];
  for (;;) {
    size_t n = 0;
    bool sensitive = false;
    CHECK_OK(MEASURED("mfp_oauth_smtp_poll_transmit", mfp_oauth_smtp_poll_transmit(&session, now_ms, out, sizeof out, &n, &sensitive)));
    if (n == 0) break;
    if (sensitive) {
      pd_srv.sensitive++;
      if (!pd_srv.tls) pd_srv.sensitive_in_clear++;
    }
    pd_server_receive(out, n);
  }
}

static void run_smtp_session(void) {
  int turns = 0;
  while (!closed && turns++ < 50) session_turn();
  session_ok = closed && message_sent;
}

static void create_session(void) {
  mfp_oauth_smtp_settings s;
  CHECK_OK(mfp_oauth_smtp_settings_init(&s));
  s.ehlo_domain = "printer.example.com";
  s.ehlo_domain_len = strlen(s.ehlo_domain);
  s.server_host = "smtp.office365.com";
  s.server_host_len = strlen(s.server_host);
  last = mfp_oauth_smtp_create(&session, now_ms, &s, USER, strlen(USER), (const uint8_t *)TOKEN,
                               strlen(TOKEN));
}

static void scan_to_email(void) {
  measure_stack("mfp_oauth_smtp_create", create_session);
  CHECK(last == MFP_OAUTH_STATUS_OK);
  pd_server_open(script, SCRIPT_LEN);
  pd_server_says("220 SN4PR0501CA0054.outlook.office365.com Microsoft ESMTP MAIL Service ready\r\n");
  run_smtp_session();
  CHECK(session_ok);
  CHECK(pd_srv.step == SCRIPT_LEN);
  CHECK(pd_srv.sensitive == 1);
  CHECK(pd_srv.sensitive_in_clear == 0);
  CHECK_OK(mfp_oauth_smtp_destroy(&session));
  mfp_oauth_smtp_event e;
  CHECK(mfp_oauth_smtp_poll_event(&session, &e) == MFP_OAUTH_STATUS_WRONG_STATE);
  printf("scan to e-mail: %s\n", session_ok ? "sent" : "FAILED");
}

/* ---- the administrator's Acquire: device flow (RFC 8628 vectors) ------- */

static mfp_oauth_token_client tokens; /* the caller's storage: static, 29 KB */

static void token_exchange(uint64_t now, int status, const char *json) {
  static char req[8192], resp[1024];
  size_t n = 0;
  bool sensitive = false;
  mfp_oauth_endpoint ep;
  CHECK_OK(MEASURED("mfp_oauth_token_client_poll_transmit",
                    mfp_oauth_token_client_poll_transmit(&tokens, now, (uint8_t *)req, sizeof req,
                                                         &n, &sensitive, &ep)));
  CHECK(n > 0 && strcmp(ep.host, "pd_srv.example.com") == 0 && ep.tls);
  int len = snprintf(resp, sizeof resp,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %u\r\n\r\n%s",
                     status, (unsigned)strlen(json), json);
  size_t used = 0;
  CHECK_OK(MEASURED("mfp_oauth_token_client_handle_input",
                    mfp_oauth_token_client_handle_input(&tokens, now, (const uint8_t *)resp,
                                                        (size_t)len, &used)));
  CHECK(used == (size_t)len);
  CHECK_OK(mfp_oauth_token_client_handle_close(&tokens, now));
}

static mfp_oauth_token_event_kind next_token_event(void) {
  mfp_oauth_token_event e;
  CHECK_OK(MEASURED("mfp_oauth_token_client_poll_event", mfp_oauth_token_client_poll_event(&tokens, &e)));
  return e.kind;
}

static void create_token_client(void) {
  mfp_oauth_settings s;
  CHECK_OK(mfp_oauth_settings_init(&s));
  s.provider = MFP_OAUTH_PROVIDER_CUSTOM;
  s.client_id = (mfp_oauth_str){"1406020730", 10};
  s.custom_token_url = (mfp_oauth_str){"https://pd_srv.example.com/token", 32};
  s.custom_device_url = (mfp_oauth_str){"https://pd_srv.example.com/device_authorization", 47};
  s.custom_scope = (mfp_oauth_str){"example_scope", 13};
  last = mfp_oauth_token_client_create(&tokens, &s, 7);
}

static void acquire_with_device_flow(void) {
  measure_stack("mfp_oauth_token_client_create", create_token_client);
  CHECK(last == MFP_OAUTH_STATUS_OK);
  CHECK_OK(mfp_oauth_token_client_start_device(&tokens, 0));
  token_exchange(0, 200,
                 "{\"device_code\":\"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS\",\"user_code\":"
                 "\"WDJB-MJHT\",\"verification_uri\":\"https://example.com/device\",\"expires_in\":1800,"
                 "\"interval\":5}");
  CHECK(next_token_event() == MFP_OAUTH_TOKEN_EVENT_KIND_USER_CODE);
  char code[33], uri[257];
  uint64_t expires = 0;
  CHECK_OK(mfp_oauth_token_client_device_code(&tokens, code, sizeof code, uri, sizeof uri, &expires));
  printf("panel: go to %s and enter %s\n", uri, code);
  CHECK(strcmp(code, "WDJB-MJHT") == 0);
  uint64_t deadline = 0;
  CHECK_OK(mfp_oauth_token_client_poll_timeout(&tokens, &deadline));
  CHECK(deadline == 5000);
  token_exchange(5000, 400, "{\"error\":\"authorization_pending\"}");
  CHECK(next_token_event() == MFP_OAUTH_TOKEN_EVENT_KIND_NONE);
  token_exchange(10000, 200,
                 "{\"access_token\":\"2YotnFZFEjr1zCsicMWpAA\",\"token_type\":\"Bearer\","
                 "\"expires_in\":3600,\"refresh_token\":\"tGzv3JOkF0XG5Qx2TlKWIA\"}");
  CHECK(next_token_event() == MFP_OAUTH_TOKEN_EVENT_KIND_REFRESH_TOKEN_ROTATED);
  CHECK(next_token_event() == MFP_OAUTH_TOKEN_EVENT_KIND_ACCESS_TOKEN);
  CHECK_OK(mfp_oauth_token_client_destroy(&tokens));
  printf("device flow: signed in\n");
}

int main(void) {
  paint_stack();
  morning_self_check();
  scan_to_email();
  acquire_with_device_flow();
  failed += printer_day();
  print_entries();
  check_guard("the end of the day");
  failed += guard_hit;
  printf("main stack: %u B, guard %s\n",
         (unsigned)((uintptr_t)_estack - (uintptr_t)_stack_bottom),
         guard_hit ? "REACHED" : "intact");
  printf("firmware checks: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

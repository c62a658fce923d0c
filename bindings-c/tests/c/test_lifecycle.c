/* C tests of issue 16, traps 3 (the From address), 4 (connection
 * lifecycle) and 5 (STARTTLS leftovers), under the sanitizers and
 * valgrind (R-FFI, R-POL, R-OAUTH, R-SMTP). They reuse the scripted token
 * endpoint and SMTP server of the printer day (examples/firmware). */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

#include "../../examples/firmware/printer_day.c"

/* A fresh mailer whose administrator holds a token (Acquire with the
 * device flow), the token client left live in pd_shared.tokens. */
static void t_admin_ready(mfp_oauth_settings *s) {
  pd_now = 1000;
  memset(&pd_mailer, 0, sizeof pd_mailer);
  memset(&pd_shared.tokens, 0, sizeof pd_shared.tokens);
  CHECK_OK(mfp_oauth_mailer_create(&pd_mailer, pd_users, PD_USER_SLOTS, s));
  CHECK_OK(mfp_oauth_token_client_create(&pd_shared.tokens, s, 0x5eed));
  CHECK_OK(mfp_oauth_token_client_start_device(&pd_shared.tokens, pd_now));
  const char *acquire[] = {PD_DEVICE_JSON, PD_TOKEN_JSON};
  CHECK(pd_token_flow(acquire, 2, NULL, 0));
  CHECK_OK(mfp_oauth_mailer_acquire_admin(&pd_mailer, pd_now, 1764000000, &pd_shared.tokens));
  mfp_oauth_step st;
  do CHECK_OK(mfp_oauth_mailer_poll_event(&pd_mailer, pd_now, &st));
  while (st.kind != MFP_OAUTH_STEP_KIND_NONE);
}

static void t_teardown(void) {
  CHECK_OK(mfp_oauth_token_client_destroy(&pd_shared.tokens));
  CHECK_OK(mfp_oauth_mailer_destroy(&pd_mailer));
}

/* ---- trap 3: the plan names the From address the policy chose ---------- */

TEST(the_plan_names_the_from_address) {
  mfp_oauth_settings s = pd_settings();
  mfp_oauth_plan plan;
  t_admin_ready(&s);
  CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_IDLE && plan.from[0] == 0);

  /* Administrator fixed address: From is the administrator's address,
   * whatever the user typed is not asked for. */
  pd_send_scan(&plan);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_CONNECT);
  CHECK_STR(plan.from, "admin@contoso.com");
  CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  CHECK_STR(plan.from, "admin@contoso.com");
  CHECK_OK(mfp_oauth_mailer_cancel(&pd_mailer, pd_now, MFP_OAUTH_STATUS_CONNECT_FAILED, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_FAILED && plan.from[0] == 0);

  /* Login user's address: From is the user's registered address, named
   * from the first plan on (here the sign-in), before any token. */
  s.sender_mode = MFP_OAUTH_SENDER_MODE_LOGIN_USER_ADDRESS;
  /* The draft shares the token client's memory (printer_day.c). */
  CHECK_OK(mfp_oauth_token_client_destroy(&pd_shared.tokens));
  CHECK_OK(mfp_oauth_mailer_apply_settings(&pd_mailer, &s, &pd_shared.draft));
  mfp_oauth_str to = PD_STR("alice@contoso.com");
  mfp_oauth_job job;
  memset(&job, 0, sizeof job);
  job.function = MFP_OAUTH_FUNCTION_SCAN_TO_ME;
  job.user_id = PD_STR("bob");
  job.user_address = PD_STR("bob@contoso.com");
  job.to = &to;
  job.to_count = 1;
  CHECK_OK(mfp_oauth_mailer_submit(&pd_mailer, pd_now, &job, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_NEED_USER_AUTH);
  CHECK_STR(plan.from, "bob@contoso.com");
  CHECK_OK(mfp_oauth_mailer_auth_failed(&pd_mailer, MFP_OAUTH_STATUS_CONNECT_FAILED, &plan));
  CHECK(plan.from[0] == 0);

  /* A job the policy refuses names no From. */
  job.user_address = PD_STR("");
  CHECK_OK(mfp_oauth_mailer_submit(&pd_mailer, pd_now, &job, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_FAILED && plan.from[0] == 0);
  t_teardown();
}

/* The message is composed once the plan names its From; its size is given
 * then, before the session starts, and no longer after. */
TEST(the_size_follows_the_from_before_the_session) {
  mfp_oauth_settings s = pd_settings();
  mfp_oauth_plan plan;
  t_admin_ready(&s);
  CHECK_STATUS(mfp_oauth_mailer_set_message_size(&pd_mailer, 1000), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_mailer_set_message_size(NULL, 1000), MFP_OAUTH_STATUS_NULL_PARAMETER);
  pd_send_scan(&plan);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_CONNECT);
  CHECK_STR(plan.from, "admin@contoso.com");
  CHECK_OK(mfp_oauth_mailer_set_message_size(&pd_mailer, 200000));
  CHECK_OK(mfp_oauth_mailer_connected(&pd_mailer, pd_now, "mfp-3f.contoso.com", 18, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_SESSION);
  CHECK_STATUS(mfp_oauth_mailer_set_message_size(&pd_mailer, 1000), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_OK(mfp_oauth_mailer_cancel(&pd_mailer, pd_now, MFP_OAUTH_STATUS_CONNECT_FAILED, &plan));
  t_teardown();
}

/* ---- trap 4: connection lifecycle ---------------------------------------- */

static void t_feed_tokens(const char *text) {
  size_t used = 0;
  CHECK_OK(mfp_oauth_token_client_handle_input(&pd_shared.tokens, pd_now, (const uint8_t *)text,
                                               strlen(text), &used));
  CHECK(used == strlen(text));
}

static bool t_done(void) {
  bool done = false;
  CHECK_OK(mfp_oauth_token_client_connection_done(&pd_shared.tokens, &done));
  return done;
}

static size_t t_token_request(void) {
  static uint8_t req[8192];
  size_t n = 0;
  bool sensitive = false;
  mfp_oauth_endpoint ep;
  CHECK_OK(mfp_oauth_token_client_poll_transmit(&pd_shared.tokens, pd_now, req, sizeof req, &n, &sensitive,
                                                &ep));
  return n;
}

static mfp_oauth_token_event_kind t_token_event(void) {
  mfp_oauth_token_event e;
  CHECK_OK(mfp_oauth_token_client_poll_event(&pd_shared.tokens, &e));
  return e.kind;
}

/* The token connection says when the response is complete: close then,
 * even when the answer brings no event (a pending device poll). */
TEST(the_token_connection_says_when_to_close) {
  mfp_oauth_settings s = pd_settings();
  static char resp[2048];
  memset(&pd_shared.tokens, 0, sizeof pd_shared.tokens);
  pd_now = 1000;
  CHECK_OK(mfp_oauth_token_client_create(&pd_shared.tokens, &s, 7));
  CHECK_STATUS(mfp_oauth_token_client_connection_done(&pd_shared.tokens, NULL),
               MFP_OAUTH_STATUS_NULL_PARAMETER);
  CHECK_OK(mfp_oauth_token_client_start_device(&pd_shared.tokens, pd_now));
  CHECK(t_done()); /* nothing sent: no connection needed */

  /* The device authorization, its response fed in two pieces. */
  CHECK(t_token_request() > 0);
  CHECK(!t_done());
  const char *r = pd_json_response(PD_DEVICE_JSON, resp, sizeof resp);
  char half[1024];
  size_t cut = strlen(r) / 2;
  memcpy(half, r, cut);
  half[cut] = 0;
  t_feed_tokens(half);
  CHECK(!t_done());
  t_feed_tokens(r + cut);
  CHECK(t_done());
  CHECK(t_token_event() == MFP_OAUTH_TOKEN_EVENT_KIND_USER_CODE);

  /* A poll answered "authorization_pending": no event at all, yet the
   * connection has served. */
  uint64_t deadline = 0;
  CHECK_OK(mfp_oauth_token_client_poll_timeout(&pd_shared.tokens, &deadline));
  pd_now = deadline;
  CHECK(t_token_request() > 0);
  CHECK(!t_done());
  const char pending[] =
      "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 35\r\n\r\n"
      "{\"error\":\"authorization_pending\"}\r\n";
  t_feed_tokens(pending);
  CHECK(t_done());
  CHECK(t_token_event() == MFP_OAUTH_TOKEN_EVENT_KIND_NONE);

  /* A response without Content-Length ends with the server's close. */
  CHECK_OK(mfp_oauth_token_client_poll_timeout(&pd_shared.tokens, &deadline));
  pd_now = deadline;
  CHECK(t_token_request() > 0);
  snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n%s",
           PD_TOKEN_JSON);
  t_feed_tokens(resp);
  CHECK(!t_done());
  CHECK_OK(mfp_oauth_token_client_handle_close(&pd_shared.tokens, pd_now));
  CHECK(t_done());
  CHECK(t_token_event() == MFP_OAUTH_TOKEN_EVENT_KIND_REFRESH_TOKEN_ROTATED);
  CHECK(t_token_event() == MFP_OAUTH_TOKEN_EVENT_KIND_ACCESS_TOKEN);
  CHECK(t_done());
  CHECK_OK(mfp_oauth_token_client_destroy(&pd_shared.tokens));
  CHECK_STATUS(mfp_oauth_token_client_connection_done(&pd_shared.tokens, &(bool){false}),
               MFP_OAUTH_STATUS_WRONG_STATE);
}

/* One SESSION turn: feed the server's octets, act on the steps, send what
 * the session has. Records the last SMTP event and whether the plan
 * changed. */
typedef struct {
  int plan_changed;
  int message_sent_in_session;
  int quit_sent;
} t_seen;

/* The body goes through mfp_oauth_mailer_smtp_write_body_canonical. */
static int t_canonical;

static void t_turn(t_seen *seen) {
  if (pd_srv.inbox_len > 0) {
    size_t used = 0;
    CHECK_OK(mfp_oauth_mailer_smtp_handle_input(&pd_mailer, pd_now, (const uint8_t *)pd_srv.inbox,
                                                pd_srv.inbox_len, &used));
    CHECK(used == pd_srv.inbox_len);
    pd_srv.inbox_len = 0;
  }
  mfp_oauth_step st;
  for (;;) {
    CHECK_OK(mfp_oauth_mailer_poll_event(&pd_mailer, pd_now, &st));
    if (st.kind == MFP_OAUTH_STEP_KIND_NONE) break;
    if (st.kind == MFP_OAUTH_STEP_KIND_PLAN_CHANGED) seen->plan_changed = 1;
    if (st.kind != MFP_OAUTH_STEP_KIND_SMTP) continue;
    if (st.smtp.kind == MFP_OAUTH_SMTP_EVENT_KIND_UPGRADE_TLS) {
      pd_srv.tls = 1;
      CHECK_OK(mfp_oauth_mailer_smtp_handle_tls_established(&pd_mailer, pd_now));
    } else if (st.smtp.kind == MFP_OAUTH_SMTP_EVENT_KIND_READY_FOR_BODY) {
      /* Offer the rest again until the whole body is taken. */
      size_t off = 0;
      for (int i = 0; i < 64 && off < sizeof pd_body - 1; i++) {
        uint8_t out[64];
        size_t used = 0, n = 0;
        const uint8_t *in = (const uint8_t *)pd_body + off;
        size_t left = sizeof pd_body - 1 - off;
        if (t_canonical)
          CHECK_OK(mfp_oauth_mailer_smtp_write_body_canonical(&pd_mailer, in, left, out,
                                                              sizeof out, &used, &n));
        else
          CHECK_OK(mfp_oauth_mailer_smtp_write_body(&pd_mailer, in, left, out, sizeof out, &used, &n));
        pd_server_receive(out, n);
        off += used;
      }
      CHECK(off == sizeof pd_body - 1);
      CHECK_OK(mfp_oauth_mailer_smtp_finish_body(&pd_mailer, pd_now));
    } else if (st.smtp.kind == MFP_OAUTH_SMTP_EVENT_KIND_MESSAGE_SENT) {
      mfp_oauth_plan p;
      CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &p));
      seen->message_sent_in_session = p.kind == MFP_OAUTH_PLAN_KIND_SESSION;
    }
  }
  uint8_t out[512];
  for (;;) {
    size_t n = 0;
    bool sensitive = false;
    mfp_oauth_status s =
        mfp_oauth_mailer_smtp_poll_transmit(&pd_mailer, pd_now, out, sizeof out, &n, &sensitive);
    if (s != MFP_OAUTH_STATUS_OK || n == 0) break;
    if (n == 6 && memcmp(out, "QUIT\r\n", 6) == 0) seen->quit_sent = 1;
    pd_srv.sensitive += sensitive;
    pd_server_receive(out, n);
  }
}

/* The printer day's SMTP script, with a server that does not answer QUIT. */
static pd_exchange t_silent_script[PD_SCRIPT_LEN];

/* Runs a scan with the printer day's SMTP script (`silent`: no answer to
 * QUIT); returns the plan once it left SESSION, or once the server has
 * nothing more to say. */
static mfp_oauth_plan t_scan(int silent, t_seen *seen) {
  mfp_oauth_plan plan;
  pd_send_scan(&plan);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_CONNECT);
  CHECK_OK(mfp_oauth_mailer_connected(&pd_mailer, pd_now, "mfp-3f.contoso.com", 18, &plan));
  memcpy(t_silent_script, pd_smtp_script, sizeof t_silent_script);
  t_silent_script[PD_SCRIPT_LEN - 1].server = NULL;
  pd_server_open(silent ? t_silent_script : pd_smtp_script, PD_SCRIPT_LEN);
  pd_server_says("220 SN4PR0501CA0054.outlook.office365.com Microsoft ESMTP MAIL Service ready\r\n");
  for (int turn = 0; turn < 40 && plan.kind == MFP_OAUTH_PLAN_KIND_SESSION && !seen->plan_changed;
       turn++) {
    t_turn(seen);
    CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
    if (pd_srv.inbox_len == 0 && pd_srv.step == pd_srv.script_len) break;
  }
  return plan;
}

/* After DONE no QUIT is left: the plan stays SESSION past MESSAGE_SENT
 * until the QUIT went out and was answered (or the server closed). */
TEST(done_comes_once_the_quit_went_out) {
  mfp_oauth_settings s = pd_settings();
  t_admin_ready(&s);
  t_seen seen = {0};
  mfp_oauth_plan plan = t_scan(0, &seen);
  CHECK(seen.message_sent_in_session);
  CHECK(seen.quit_sent);
  CHECK(seen.plan_changed);
  CHECK(pd_srv.step == PD_SCRIPT_LEN);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_DONE && plan.reply_code == 250);
  /* Nothing is left to send or feed: close the connection. */
  uint8_t out[64];
  size_t n = 99;
  bool sensitive = false;
  CHECK_STATUS(mfp_oauth_mailer_smtp_poll_transmit(&pd_mailer, pd_now, out, sizeof out, &n, &sensitive),
               MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK(n == 99);
  CHECK_STATUS(mfp_oauth_mailer_smtp_handle_close(&pd_mailer, pd_now), MFP_OAUTH_STATUS_WRONG_STATE);

  /* A server that closes instead of answering QUIT: DONE on the close. */
  seen = (t_seen){0};
  plan = t_scan(1, &seen);
  CHECK(seen.message_sent_in_session && seen.quit_sent && !seen.plan_changed);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_SESSION);
  CHECK_OK(mfp_oauth_mailer_smtp_handle_close(&pd_mailer, pd_now));
  t_turn(&seen);
  CHECK(seen.plan_changed);
  CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_DONE && plan.reply_code == 250);

  /* A server that never answers QUIT: DONE at the command timeout. */
  seen = (t_seen){0};
  plan = t_scan(1, &seen);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_SESSION && seen.quit_sent);
  uint64_t deadline = 0;
  CHECK_OK(mfp_oauth_mailer_smtp_poll_timeout(&pd_mailer, &deadline));
  CHECK(deadline != MFP_OAUTH_NO_DEADLINE);
  pd_now = deadline;
  CHECK_OK(mfp_oauth_mailer_smtp_handle_timeout(&pd_mailer, pd_now));
  t_turn(&seen);
  CHECK(seen.plan_changed);
  CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_DONE);
  t_teardown();
}

/* Runs the refresh the TOKEN_EXCHANGE plan asks for, answered with
 * `status` and `json`, up to the client's end (not yet taken by anyone). */
static void t_refresh_answered(const char *status, const char *json) {
  static char resp[2048];
  CHECK_OK(mfp_oauth_mailer_start_refresh(&pd_mailer, pd_now, &pd_shared.tokens));
  CHECK(t_token_request() > 0);
  snprintf(resp, sizeof resp,
           "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %u\r\n\r\n%s",
           status, (unsigned)strlen(json), json);
  t_feed_tokens(resp);
  CHECK(t_done());
}

static mfp_oauth_plan t_exchange_plan(void) {
  mfp_oauth_plan plan;
  pd_now += 3600 * 1000; /* the access token expired */
  pd_send_scan(&plan);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_TOKEN_EXCHANGE);
  return plan;
}

static mfp_oauth_token_event t_mailer_token_event(bool *changed) {
  mfp_oauth_token_event e;
  *changed = false;
  CHECK_OK(mfp_oauth_mailer_poll_token_event(&pd_mailer, pd_now, 0, &pd_shared.tokens, &e, changed));
  return e;
}

/* The two ways to finish a token flow may be mixed: the mailer's poll
 * still reports an end the client's poll took, once; a second report of
 * an end is WRONG_STATE and changes nothing. */
TEST(the_two_ways_to_finish_a_token_flow_may_be_mixed) {
  mfp_oauth_settings s = pd_settings();
  mfp_oauth_plan plan;
  bool changed = false;
  mfp_oauth_token_event e;
  t_admin_ready(&s);

  /* The client's poll takes ACCESS_TOKEN, the mailer's poll reports it. */
  t_exchange_plan();
  t_refresh_answered("200 OK", PD_REFRESHED_JSON);
  CHECK(t_token_event() == MFP_OAUTH_TOKEN_EVENT_KIND_REFRESH_TOKEN_ROTATED);
  CHECK(t_token_event() == MFP_OAUTH_TOKEN_EVENT_KIND_ACCESS_TOKEN);
  e = t_mailer_token_event(&changed);
  CHECK(e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_ACCESS_TOKEN && changed);
  CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_CONNECT);
  /* Once only, and a report by the client's way changes nothing. */
  e = t_mailer_token_event(&changed);
  CHECK(e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_NONE && !changed);
  CHECK_STATUS(mfp_oauth_mailer_exchange_succeeded(&pd_mailer, pd_now, 0, &pd_shared.tokens, &plan),
               MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_CONNECT);
  CHECK_OK(mfp_oauth_mailer_cancel(&pd_mailer, pd_now, MFP_OAUTH_STATUS_CONNECT_FAILED, &plan));

  /* The client's way reports, then the mailer's poll: nothing more. */
  t_exchange_plan();
  t_refresh_answered("200 OK", PD_REFRESHED_JSON);
  while (t_token_event() != MFP_OAUTH_TOKEN_EVENT_KIND_NONE) {
  }
  CHECK_OK(mfp_oauth_mailer_exchange_succeeded(&pd_mailer, pd_now, 0, &pd_shared.tokens, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_CONNECT);
  e = t_mailer_token_event(&changed);
  CHECK(e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_NONE && !changed);
  CHECK_OK(mfp_oauth_mailer_cancel(&pd_mailer, pd_now, MFP_OAUTH_STATUS_CONNECT_FAILED, &plan));

  /* The mailer's way, then a report by the client's way: refused. */
  t_exchange_plan();
  t_refresh_answered("200 OK", PD_REFRESHED_JSON);
  do e = t_mailer_token_event(&changed);
  while (e.kind != MFP_OAUTH_TOKEN_EVENT_KIND_NONE && !changed);
  CHECK(e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_ACCESS_TOKEN && changed);
  CHECK_STATUS(mfp_oauth_mailer_exchange_succeeded(&pd_mailer, pd_now, 0, &pd_shared.tokens, &plan),
               MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_CONNECT);
  CHECK_OK(mfp_oauth_mailer_cancel(&pd_mailer, pd_now, MFP_OAUTH_STATUS_CONNECT_FAILED, &plan));

  /* A dead refresh token reported the client's way: the sign-in the plan
   * then asks for is not failed by the refresh's end. */
  t_exchange_plan();
  t_refresh_answered("400 Bad Request", "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS70008: expired\"}");
  mfp_oauth_token_event end;
  CHECK_OK(mfp_oauth_token_client_poll_event(&pd_shared.tokens, &end));
  CHECK(end.kind == MFP_OAUTH_TOKEN_EVENT_KIND_REAUTH_REQUIRED);
  CHECK_OK(mfp_oauth_mailer_exchange_failed(&pd_mailer, pd_now, true, end.diag, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_NEED_ADMIN_AUTH);
  e = t_mailer_token_event(&changed);
  CHECK(e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_NONE && !changed);
  CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_NEED_ADMIN_AUTH);
  t_teardown();
}

/* A body declared canonical goes out as the scanning path sends it; one
 * wrongly declared (the printer day's body has a line ".page 1") still has
 * that dot doubled over DATA: the scripted server expects "..page 1". */
TEST(a_body_declared_canonical_is_still_dot_stuffed_over_data) {
  mfp_oauth_settings s = pd_settings();
  t_admin_ready(&s);
  int failed_before = pd_failed;
  t_seen seen = {0};
  t_canonical = 1;
  mfp_oauth_plan plan = t_scan(0, &seen);
  t_canonical = 0;
  CHECK(pd_failed == failed_before);
  CHECK(pd_srv.step == PD_SCRIPT_LEN);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_DONE && plan.reply_code == 250);
  t_teardown();
}

/* ---- trap 5: octets after the 220 to STARTTLS never become replies ----- */

#define T_USER "scanner@contoso.com"
#define T_TOKEN "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA"

static void t_smtp_feed(mfp_oauth_smtp *smtp, const char *text) {
  size_t used = 0;
  CHECK_OK(mfp_oauth_smtp_handle_input(smtp, 1000, (const uint8_t *)text, strlen(text), &used));
  CHECK(used == strlen(text)); /* always all: nothing to offer again */
}

/* Sends what the session has; returns how many transmits there were and
 * whether one was AUTH. */
static int t_smtp_flush(mfp_oauth_smtp *smtp, int *auth) {
  uint8_t out[600];
  int count = 0;
  for (;;) {
    size_t n = 0;
    bool sensitive = false;
    if (mfp_oauth_smtp_poll_transmit(smtp, 1000, out, sizeof out, &n, &sensitive) !=
            MFP_OAUTH_STATUS_OK ||
        n == 0)
      return count;
    count++;
    if (sensitive || (n >= 4 && memcmp(out, "AUTH", 4) == 0)) *auth = 1;
  }
}

/* A STARTTLS session up to the STARTTLS command sent. */
static void t_smtp_to_starttls(mfp_oauth_smtp *smtp) {
  mfp_oauth_smtp_settings ss;
  mfp_oauth_smtp_settings_init(&ss);
  ss.ehlo_domain = "printer.example.com";
  ss.ehlo_domain_len = strlen(ss.ehlo_domain);
  ss.server_host = "smtp.example.com";
  ss.server_host_len = strlen(ss.server_host);
  memset(smtp, 0, sizeof *smtp);
  CHECK_OK(mfp_oauth_smtp_create(smtp, 1000, &ss, T_USER, strlen(T_USER), (const uint8_t *)T_TOKEN,
                                 strlen(T_TOKEN)));
  int auth = 0;
  t_smtp_feed(smtp, "220 smtp.example.com ESMTP\r\n");
  CHECK(t_smtp_flush(smtp, &auth) == 1); /* EHLO */
  t_smtp_feed(smtp, "250-smtp.example.com\r\n250-AUTH XOAUTH2\r\n250 STARTTLS\r\n");
  CHECK(t_smtp_flush(smtp, &auth) == 1); /* STARTTLS */
  CHECK(!auth);
}

/* The events of `smtp` until none: whether UPGRADE_TLS came, and the
 * diagnostic of a FAILED event (0 if none). */
static uint32_t t_smtp_events(mfp_oauth_smtp *smtp, int *upgrade) {
  uint32_t failed = 0;
  mfp_oauth_smtp_event e;
  for (;;) {
    CHECK_OK(mfp_oauth_smtp_poll_event(smtp, &e));
    if (e.kind == MFP_OAUTH_SMTP_EVENT_KIND_NONE) return failed;
    if (e.kind == MFP_OAUTH_SMTP_EVENT_KIND_UPGRADE_TLS) *upgrade = 1;
    if (e.kind == MFP_OAUTH_SMTP_EVENT_KIND_FAILED) failed = e.diag;
  }
}

static void t_last_reply_is_220(mfp_oauth_smtp *smtp) {
  uint32_t code = 0;
  char text[MFP_OAUTH_REPLY_TEXT_BUF_LEN];
  size_t n = 0;
  CHECK_OK(mfp_oauth_smtp_last_reply(smtp, &code, text, sizeof text, &n));
  CHECK(code == 220 && strstr(text, "injected") == NULL);
}

TEST(starttls_leftovers_are_never_taken_as_replies) {
  static mfp_oauth_smtp smtp;
  mfp_oauth_smtp_state state;
  int upgrade = 0, auth = 0;

  /* The 220 and an injected reply in one read: the session fails at once;
   * TLS coming up afterwards changes nothing. */
  t_smtp_to_starttls(&smtp);
  t_smtp_feed(&smtp, "220 ready\r\n250 injected\r\n");
  CHECK(t_smtp_events(&smtp, &upgrade) == MFP_OAUTH_STATUS_PROTOCOL_VIOLATION);
  CHECK(!upgrade); /* no handshake to start */
  CHECK_STATUS(mfp_oauth_smtp_handle_tls_established(&smtp, 1000), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK(t_smtp_flush(&smtp, &auth) == 0 && !auth);
  CHECK_OK(mfp_oauth_smtp_session_state(&smtp, &state));
  CHECK(state.closed && !state.tls);
  t_last_reply_is_220(&smtp);
  CHECK_OK(mfp_oauth_smtp_destroy(&smtp));

  /* A driver that kept the rest and feeds it after the handshake (the
   * reading the old header text allowed): refused, never the reply to the
   * EHLO that has not even gone out. */
  upgrade = 0;
  t_smtp_to_starttls(&smtp);
  t_smtp_feed(&smtp, "220 ready\r\n");
  CHECK(t_smtp_events(&smtp, &upgrade) == 0 && upgrade);
  CHECK_OK(mfp_oauth_smtp_handle_tls_established(&smtp, 1000));
  t_smtp_feed(&smtp, "250 injected\r\n");
  CHECK(t_smtp_events(&smtp, &upgrade) == MFP_OAUTH_STATUS_PROTOCOL_VIOLATION);
  CHECK(t_smtp_flush(&smtp, &auth) == 0 && !auth);
  CHECK_OK(mfp_oauth_smtp_session_state(&smtp, &state));
  CHECK(state.closed);
  t_last_reply_is_220(&smtp);
  CHECK_OK(mfp_oauth_smtp_destroy(&smtp));

  /* The right way: the leftover discarded, the EHLO sent over TLS and its
   * reply fed: the session goes on to AUTH. */
  t_smtp_to_starttls(&smtp);
  t_smtp_feed(&smtp, "220 ready\r\n");
  t_smtp_events(&smtp, &upgrade);
  CHECK_OK(mfp_oauth_smtp_handle_tls_established(&smtp, 1000));
  CHECK(t_smtp_flush(&smtp, &auth) == 1 && !auth); /* EHLO over TLS */
  t_smtp_feed(&smtp, "250-smtp.example.com\r\n250 AUTH XOAUTH2\r\n");
  CHECK(t_smtp_events(&smtp, &upgrade) == 0);
  CHECK(t_smtp_flush(&smtp, &auth) == 1 && auth);
  CHECK_OK(mfp_oauth_smtp_destroy(&smtp));
}

/* The same through the mailer: the job fails with PROTOCOL_VIOLATION and
 * no token goes out. */
static const pd_exchange t_injected_script[] = {
    {"EHLO mfp-3f.contoso.com", "250-smtp.office365.com\r\n250-AUTH XOAUTH2\r\n250 STARTTLS\r\n"},
    {"STARTTLS", "220 2.0.0 SMTP server ready\r\n250-injected\r\n250 AUTH PLAIN\r\n"},
};

TEST(starttls_leftovers_fail_the_mailer_job) {
  mfp_oauth_settings s = pd_settings();
  mfp_oauth_plan plan;
  t_admin_ready(&s);
  pd_send_scan(&plan);
  CHECK_OK(mfp_oauth_mailer_connected(&pd_mailer, pd_now, "mfp-3f.contoso.com", 18, &plan));
  pd_server_open(t_injected_script, 2);
  pd_server_says("220 smtp.office365.com ready\r\n");
  t_seen seen = {0};
  for (int turn = 0; turn < 10 && !seen.plan_changed; turn++) t_turn(&seen);
  CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_FAILED &&
        plan.diag == MFP_OAUTH_STATUS_PROTOCOL_VIOLATION);
  CHECK(pd_srv.sensitive == 0 && pd_srv.step == 2);
  t_teardown();
}

static const test_case cases[] = {
    CASE(a_body_declared_canonical_is_still_dot_stuffed_over_data),
    CASE(the_size_follows_the_from_before_the_session),
    CASE(the_plan_names_the_from_address),
    CASE(the_token_connection_says_when_to_close),
    CASE(done_comes_once_the_quit_went_out),
    CASE(the_two_ways_to_finish_a_token_flow_may_be_mixed),
    CASE(starttls_leftovers_are_never_taken_as_replies),
    CASE(starttls_leftovers_fail_the_mailer_job),
};

int main(void) {
  int rc = RUN_CASES("lifecycle", cases);
  /* The printer day's own checks count as failures of this suite too. */
  if (pd_failed != 0) printf("printer day helpers: %d checks failed\n", pd_failed);
  return rc != 0 || pd_failed != 0;
}

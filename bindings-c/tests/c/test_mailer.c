/* C tests of the mailer (R-FFI, R-POL, R-TOK, R-NV): the printer day that
 * the Cortex-M4F firmware runs (examples/firmware/printer_day.c), on the
 * host under the sanitizers and valgrind, and the mailer's misuse. */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

#include "../../examples/firmware/printer_day.c"

TEST(a_printer_day) { CHECK(printer_day() == 0); }

TEST(misuse) {
  static mfp_oauth_mailer m;
  static mfp_oauth_user_slot m_users[MFP_OAUTH_MAX_USER_SLOTS];
  memset(&m, 0, sizeof m);
  const mfp_oauth_status NP = MFP_OAUTH_STATUS_NULL_PARAMETER;
  mfp_oauth_settings s;
  mfp_oauth_plan plan;
  mfp_oauth_step step;
  mfp_oauth_nv_report report;
  CHECK_OK(mfp_oauth_settings_init(&s));
  CHECK_STATUS(mfp_oauth_mailer_create(NULL, NULL, 0, &s), NP);
  CHECK_STATUS(mfp_oauth_mailer_create(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, NULL), NP);
  CHECK_STATUS(mfp_oauth_mailer_plan(&m, &plan), MFP_OAUTH_STATUS_WRONG_STATE);
  /* R-RULE-1: OAuth with VLAN on network 2 is refused, as its diagnostic. */
  s.oauth_enabled = true;
  s.vlan_on_network2 = true;
  CHECK_STATUS(mfp_oauth_mailer_create(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &s), MFP_OAUTH_STATUS_VLAN_ON_NETWORK2);
  uint32_t diags[16];
  size_t n = 0;
  CHECK_OK(mfp_oauth_settings_validate(&s, diags, 16, &n));
  CHECK(n >= 1 && diags[0] == MFP_OAUTH_STATUS_VLAN_ON_NETWORK2);
  CHECK_STATUS(mfp_oauth_settings_validate(&s, diags, 0, &n), MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  s.vlan_on_network2 = false;
  s.sender_mode = 4;
  CHECK_STATUS(mfp_oauth_mailer_create(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &s), MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  s.sender_mode = MFP_OAUTH_SENDER_MODE_ADMIN_FIXED_ADDRESS;
  s.admin_address = (mfp_oauth_str){"not an address", 14};
  CHECK_STATUS(mfp_oauth_mailer_create(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &s), MFP_OAUTH_STATUS_INVALID_ADDRESS);
  CHECK_OK(mfp_oauth_settings_init(&s));
  CHECK_OK(mfp_oauth_mailer_create(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &s));
  /* OAuth off: a job fails with E206, the call itself succeeds. */
  mfp_oauth_str to = {"a@contoso.com", 13};
  mfp_oauth_job job;
  memset(&job, 0, sizeof job);
  job.function = MFP_OAUTH_FUNCTION_SCAN_TO_EMAIL;
  job.to = &to;
  job.to_count = 1;
  CHECK_OK(mfp_oauth_mailer_submit(&m, 0, &job, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_FAILED && plan.diag == MFP_OAUTH_STATUS_OAUTH_OFF);
  job.function = 0;
  CHECK_STATUS(mfp_oauth_mailer_submit(&m, 0, &job, &plan), MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  job.function = 13;
  CHECK_STATUS(mfp_oauth_mailer_submit(&m, 0, &job, &plan), MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  job.function = MFP_OAUTH_FUNCTION_SCAN_TO_EMAIL;
  job.to_count = 0;
  CHECK_STATUS(mfp_oauth_mailer_submit(&m, 0, &job, &plan), MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  job.to_count = 17;
  CHECK_STATUS(mfp_oauth_mailer_submit(&m, 0, &job, &plan), MFP_OAUTH_STATUS_CAPACITY_EXCEEDED);
  job.to_count = 1;
  CHECK_STATUS(mfp_oauth_mailer_submit(&m, 0, NULL, &plan), NP);
  CHECK_STATUS(mfp_oauth_mailer_submit(&m, 0, &job, NULL), NP);
  /* Reports in the wrong plan. */
  CHECK_STATUS(mfp_oauth_mailer_connected(&m, 0, "x", 1, &plan), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_mailer_auth_failed(&m, 402, &plan), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_mailer_auth_failed(&m, 9999, &plan), MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(mfp_oauth_mailer_exchange_failed(&m, 0, true, 411, &plan), MFP_OAUTH_STATUS_WRONG_STATE);
  size_t used;
  CHECK_STATUS(mfp_oauth_mailer_smtp_handle_input(&m, 0, (const uint8_t *)"220\r\n", 5, &used),
               MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_OK(mfp_oauth_mailer_poll_event(&m, 0, &step));
  /* Token-client calls need a client with tokens, and a sign-in or refresh plan. */
  static mfp_oauth_token_client tc;
  mfp_oauth_settings ms;
  CHECK_OK(mfp_oauth_settings_init(&ms));
  ms.client_id = (mfp_oauth_str){"4f1c3b2a-9d8e-4c7b-a6f5-0e1d2c3b4a59", 36};
  CHECK_OK(mfp_oauth_token_client_create(&tc, &ms, 1));
  mfp_oauth_token_event tev;
  bool changed = true;
  CHECK_OK(mfp_oauth_mailer_poll_token_event(&m, 0, 0, &tc, &tev, &changed));
  CHECK(tev.kind == MFP_OAUTH_TOKEN_EVENT_KIND_NONE && !changed);
  CHECK_STATUS(mfp_oauth_mailer_poll_token_event(&m, 0, 0, &tc, NULL, &changed), NP);
  CHECK_STATUS(mfp_oauth_mailer_poll_token_event(&m, 0, 0, &tc, &tev, NULL), NP);
  CHECK_STATUS(mfp_oauth_mailer_poll_token_event(&m, 0, 0, NULL, &tev, &changed), NP);
  CHECK_STATUS(mfp_oauth_mailer_acquire_admin(&m, 0, 0, &tc), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_mailer_auth_succeeded(&m, 0, 0, &tc, &plan), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_mailer_start_refresh(&m, 0, &tc), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_OK(mfp_oauth_token_client_destroy(&tc));
  CHECK_STATUS(mfp_oauth_mailer_poll_event(&m, 0, NULL), NP);
  CHECK_STATUS(mfp_oauth_mailer_image_written(&m, 2, 0), MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  /* Saving into a short buffer reports the size needed and wipes it. */
  uint8_t small[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  mfp_oauth_nv_slot slot;
  uint32_t seq;
  CHECK_STATUS(mfp_oauth_mailer_save(&m, NULL, NULL, small, sizeof small, &n, &slot, &seq),
               MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  CHECK(n == MFP_OAUTH_NV_IMAGE_MAX_LEN);
  /* A sealed image needs fresh randomness. */
  static uint8_t image[MFP_OAUTH_NV_IMAGE_MAX_LEN];
  uint8_t key[MFP_OAUTH_DEVICE_KEY_LEN] = {7};
  CHECK_STATUS(mfp_oauth_mailer_save(&m, key, NULL, image, sizeof image, &n, &slot, &seq), NP);
  uint8_t random[MFP_OAUTH_SEAL_RANDOM_LEN] = {1, 2, 3, 4, 5, 6, 7};
  CHECK_OK(mfp_oauth_mailer_save(&m, key, random, image, sizeof image, &n, &slot, &seq));
  /* A corrupt image never loads, and never crashes. */
  static mfp_oauth_mailer m2;
  static mfp_oauth_user_slot m2_users[MFP_OAUTH_MAX_USER_SLOTS];
  uint8_t junk[64];
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 37u + 11u);
  CHECK(mfp_oauth_mailer_load(&m2, m2_users, MFP_OAUTH_MAX_USER_SLOTS, junk, sizeof junk, junk, 0, NULL, &report) != MFP_OAUTH_STATUS_OK);
  /* The sealed image loads with the key only. */
  uint8_t other_key[MFP_OAUTH_DEVICE_KEY_LEN] = {8};
  CHECK(mfp_oauth_mailer_load(&m2, m2_users, MFP_OAUTH_MAX_USER_SLOTS, image, n, junk, 0, other_key, &report) != MFP_OAUTH_STATUS_OK);
  CHECK_OK(mfp_oauth_mailer_load(&m2, m2_users, MFP_OAUTH_MAX_USER_SLOTS, image, n, junk, 0, key, &report));
  CHECK_OK(mfp_oauth_mailer_destroy(&m2));
  CHECK_OK(mfp_oauth_mailer_destroy(&m));
  CHECK_OK(mfp_oauth_mailer_destroy(&m));
  CHECK_STATUS(mfp_oauth_mailer_destroy(NULL), NP);
}

/* ---- issue 16: power-on, settings round trip, support log, header ---- */

/* Where the tests' new settings are checked (mfp_oauth_mailer_apply_settings). */
static mfp_oauth_settings_draft t_draft;

/* Whether every octet of `p` is zero. */
static bool t_all_zero(const void *p, size_t len) {
  const uint8_t *b = p;
  for (size_t i = 0; i < len; i++)
    if (b[i] != 0) return false;
  return true;
}

/* Drains the steps of `m`; returns the number of PERSIST steps, and sets
 * *erased when one of them asked to erase the other slot. */
static int t_drain(mfp_oauth_mailer *m, bool *erased) {
  int persists = 0;
  mfp_oauth_step st;
  for (;;) {
    CHECK_OK(mfp_oauth_mailer_poll_event(m, pd_now, &st));
    if (st.kind == MFP_OAUTH_STEP_KIND_NONE) return persists;
    if (st.kind == MFP_OAUTH_STEP_KIND_PERSIST) {
      persists++;
      if (erased) *erased = *erased || st.erase_other_slot;
    }
  }
}

static size_t t_image(mfp_oauth_mailer *m, uint8_t *image) {
  size_t n = 0;
  mfp_oauth_nv_slot slot;
  uint32_t seq;
  CHECK_OK(mfp_oauth_mailer_save(m, NULL, NULL, image, MFP_OAUTH_NV_IMAGE_MAX_LEN, &n, &slot, &seq));
  return n;
}

static int t_str_is(mfp_oauth_str s, const char *text) {
  return s.len == strlen(text) && s.ptr != NULL && memcmp(s.ptr, text, s.len) == 0;
}

/* Trap 1: an erased slot given as NULL, 0 is empty, like a zero length or
 * 0xFF octets. */
TEST(erased_slots_may_be_passed_as_null) {
  static mfp_oauth_mailer m;
  static mfp_oauth_user_slot m_users[MFP_OAUTH_MAX_USER_SLOTS];
  memset(&m, 0, sizeof m);
  mfp_oauth_nv_report r;
  uint8_t erased[64];
  memset(erased, 0xff, sizeof erased);
  CHECK_STATUS(mfp_oauth_mailer_load(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, NULL, 0, NULL, 0, NULL, &r), MFP_OAUTH_STATUS_NV_EMPTY);
  CHECK_STATUS(mfp_oauth_mailer_load(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, NULL, 0, erased, sizeof erased, NULL, &r),
               MFP_OAUTH_STATUS_NV_EMPTY);
  CHECK_STATUS(mfp_oauth_mailer_load(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, erased, sizeof erased, NULL, 0, NULL, &r),
               MFP_OAUTH_STATUS_NV_EMPTY);
  /* NULL with a length is still a NULL pointer. */
  CHECK_STATUS(mfp_oauth_mailer_load(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, NULL, 1, NULL, 0, NULL, &r), MFP_OAUTH_STATUS_NULL_PARAMETER);
}

/* Trap 1: load and create over a live mailer are refused and change
 * nothing (they used to succeed and drop its state). */
TEST(load_and_create_refuse_a_live_mailer) {
  static mfp_oauth_mailer m;
  static mfp_oauth_user_slot m_users[MFP_OAUTH_MAX_USER_SLOTS];
  static uint8_t image[MFP_OAUTH_NV_IMAGE_MAX_LEN];
  memset(&m, 0, sizeof m);
  mfp_oauth_settings s = pd_settings(), back;
  mfp_oauth_nv_report r;
  CHECK_OK(mfp_oauth_mailer_create(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &s));
  s.smtp_port = 2525;
  CHECK_OK(mfp_oauth_mailer_apply_settings(&m, &s, &t_draft));
  size_t n = t_image(&m, image);
  mfp_oauth_settings factory = pd_settings();
  CHECK_STATUS(mfp_oauth_mailer_create(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &factory), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_OK(mfp_oauth_mailer_settings(&m, &back));
  CHECK(back.smtp_port == 2525);
  CHECK_STATUS(mfp_oauth_mailer_load(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, image, n, NULL, 0, NULL, &r), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_OK(mfp_oauth_mailer_settings(&m, &back));
  CHECK(back.smtp_port == 2525);
  /* Destroyed storage takes a load again. */
  CHECK_OK(mfp_oauth_mailer_destroy(&m));
  CHECK_OK(mfp_oauth_mailer_load(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, image, n, NULL, 0, NULL, &r));
  CHECK_OK(mfp_oauth_mailer_settings(&m, &back));
  CHECK(back.smtp_port == 2525);
  CHECK_OK(mfp_oauth_mailer_destroy(&m));
}

/* The printer day's settings with a Send-As list and a proxy password. */
static mfp_oauth_settings t_settings_with_proxy(void) {
  mfp_oauth_settings s = pd_settings();
  s.send_as[0] = PD_STR("scans@contoso.com");
  s.send_as[1] = PD_STR("fax@contoso.com");
  s.send_as_count = 2;
  s.proxy_host = PD_STR("proxy.contoso.com");
  s.proxy_port = 3128;
  s.proxy_user = PD_STR("printer");
  s.proxy_password = PD_STR("Pr0xy-Secret!");
  return s;
}

/* Trap 2: mfp_oauth_mailer_settings, change the port, apply: the Send-As list and the
 * proxy password stay (same image size, no erase of the other slot); the
 * password is never read back. */
TEST(settings_round_trip_keeps_send_as_and_the_proxy_password) {
  static mfp_oauth_mailer m;
  static mfp_oauth_user_slot m_users[MFP_OAUTH_MAX_USER_SLOTS];
  static uint8_t image[MFP_OAUTH_NV_IMAGE_MAX_LEN];
  memset(&m, 0, sizeof m);
  mfp_oauth_settings s = t_settings_with_proxy(), back;
  CHECK_OK(mfp_oauth_mailer_create(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &s));
  t_drain(&m, NULL);
  size_t before = t_image(&m, image);

  CHECK_OK(mfp_oauth_mailer_settings(&m, &back));
  CHECK(back.send_as_count == 2);
  CHECK(t_str_is(back.send_as[0], "scans@contoso.com") && t_str_is(back.send_as[1], "fax@contoso.com"));
  CHECK(back.proxy_password.ptr == NULL && back.proxy_password.len == 0);
  CHECK(back.proxy_password_keep);
  back.smtp_port = 2525;
  CHECK_OK(mfp_oauth_mailer_apply_settings(&m, &back, &t_draft));
  bool erased = false;
  CHECK(t_drain(&m, &erased) == 1);
  CHECK(!erased);
  CHECK(t_image(&m, image) == before);

  CHECK_OK(mfp_oauth_mailer_settings(&m, &back));
  CHECK(back.smtp_port == 2525 && back.send_as_count == 2);
  CHECK(t_str_is(back.send_as[1], "fax@contoso.com") && t_str_is(back.proxy_user, "printer"));
  /* The kept password never follows to another proxy. */
  back.proxy_host = PD_STR("proxy.fabrikam.com");
  CHECK_STATUS(mfp_oauth_mailer_apply_settings(&m, &back, &t_draft), MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK_OK(mfp_oauth_mailer_destroy(&m));
}

/* The draft holds nothing once apply_settings returns, applied or refused
 * (a proxy password included), and a draft that holds a live token client
 * (a union, as in the printer day) is refused and left as it was. */
TEST(the_settings_draft_is_empty_after_each_call_and_spares_a_live_client) {
  static mfp_oauth_mailer m;
  static mfp_oauth_user_slot m_users[MFP_OAUTH_MAX_USER_SLOTS];
  static union {
    mfp_oauth_token_client tokens;
    mfp_oauth_settings_draft draft;
  } shared;
  memset(&m, 0, sizeof m);
  memset(&shared, 0xA5, sizeof shared); /* garbage: whatever the RAM held */
  mfp_oauth_settings s = t_settings_with_proxy();
  CHECK_OK(mfp_oauth_mailer_create(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &s));
  s.smtp_port = 2525;
  CHECK_OK(mfp_oauth_mailer_apply_settings(&m, &s, &shared.draft));
  CHECK(t_all_zero(&shared.draft, sizeof shared.draft));
  s.proxy_password = PD_STR("Refused-Pr0xy!");
  s.refresh_margin_s = 1801;
  CHECK_STATUS(mfp_oauth_mailer_apply_settings(&m, &s, &shared.draft),
               MFP_OAUTH_STATUS_REFRESH_MARGIN_INVALID);
  CHECK(t_all_zero(&shared.draft, sizeof shared.draft));
  s.refresh_margin_s = 900;
  CHECK_STATUS(mfp_oauth_mailer_apply_settings(&m, &s, NULL), MFP_OAUTH_STATUS_NULL_PARAMETER);
  /* A token client lives in the union: refused, the client untouched. */
  CHECK_OK(mfp_oauth_token_client_create(&shared.tokens, &s, 0x5eed));
  CHECK_OK(mfp_oauth_token_client_start_device(&shared.tokens, 0));
  CHECK_STATUS(mfp_oauth_mailer_apply_settings(&m, &s, &shared.draft),
               MFP_OAUTH_STATUS_WRONG_STATE);
  uint64_t deadline = 0;
  CHECK_OK(mfp_oauth_token_client_poll_timeout(&shared.tokens, &deadline));
  CHECK_OK(mfp_oauth_token_client_destroy(&shared.tokens));
  CHECK_OK(mfp_oauth_mailer_apply_settings(&m, &s, &shared.draft));
  mfp_oauth_settings back;
  CHECK_OK(mfp_oauth_mailer_settings(&m, &back));
  CHECK(back.smtp_port == 2525);
  CHECK_OK(mfp_oauth_mailer_destroy(&m));
}

/* A new mailer with `s` whose administrator has Acquired (device flow). */
static void t_acquired(const mfp_oauth_settings *s) {
  memset(&pd_mailer, 0, sizeof pd_mailer);
  CHECK_OK(mfp_oauth_mailer_create(&pd_mailer, pd_users, PD_USER_SLOTS, s));
  CHECK_OK(mfp_oauth_token_client_create(&pd_shared.tokens, s, 0x5eed));
  CHECK_OK(mfp_oauth_token_client_start_device(&pd_shared.tokens, pd_now));
  const char *acquire[] = {PD_DEVICE_JSON, PD_TOKEN_JSON};
  CHECK(pd_token_flow(acquire, 2, NULL, 0));
  CHECK_OK(mfp_oauth_mailer_acquire_admin(&pd_mailer, pd_now, 1764000000, &pd_shared.tokens));
  CHECK_OK(mfp_oauth_token_client_destroy(&pd_shared.tokens));
  t_drain(&pd_mailer, NULL);
}

/* Trap 6: the mailer gives the server's reply for the support log: the
 * 535 5.7.139 that failed the job, not the 221 to QUIT. */
static const pd_exchange t_auth_off_script[] = {
    {"EHLO mfp-3f.contoso.com",
     "250-SN4PR0501CA0054.outlook.office365.com Hello [203.0.113.7]\r\n250-ENHANCEDSTATUSCODES\r\n"
     "250 STARTTLS\r\n"},
    {"STARTTLS", "220 2.0.0 SMTP server ready\r\n"},
    {"EHLO mfp-3f.contoso.com",
     "250-SN4PR0501CA0054.outlook.office365.com Hello [203.0.113.7]\r\n250-ENHANCEDSTATUSCODES\r\n"
     "250 AUTH LOGIN XOAUTH2\r\n"},
    {"AUTH XOAUTH2 ",
     "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
     "Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.\r\n"},
    {"QUIT", "221 2.0.0 Service closing transmission channel\r\n"},
};

TEST(the_mailer_keeps_the_reply_that_failed_the_job) {
  int failed_before = pd_failed;
  mfp_oauth_settings s = pd_settings();
  mfp_oauth_plan plan;
  uint32_t code = 0;
  char text[MFP_OAUTH_REPLY_TEXT_BUF_LEN];
  size_t n = 0;
  t_acquired(&s);
  CHECK_STATUS(mfp_oauth_mailer_last_reply(&pd_mailer, &code, text, sizeof text, &n),
               MFP_OAUTH_STATUS_WRONG_STATE);

  pd_send_scan(&plan);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_CONNECT);
  CHECK_OK(mfp_oauth_mailer_connected(&pd_mailer, pd_now, "mfp-3f.contoso.com", 18, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_SESSION);
  size_t script_len = sizeof t_auth_off_script / sizeof t_auth_off_script[0];
  pd_server_open(t_auth_off_script, script_len);
  pd_server_says("220 SN4PR0501CA0054.outlook.office365.com Microsoft ESMTP MAIL Service ready\r\n");
  for (int turn = 0; turn < 60 && plan.kind == MFP_OAUTH_PLAN_KIND_SESSION; turn++) {
    CHECK_OK(pd_feed_input());
    mfp_oauth_step st;
    for (;;) {
      CHECK_OK(mfp_oauth_mailer_poll_event(&pd_mailer, pd_now, &st));
      if (st.kind == MFP_OAUTH_STEP_KIND_NONE) break;
      if (st.kind == MFP_OAUTH_STEP_KIND_SMTP && st.smtp.kind == MFP_OAUTH_SMTP_EVENT_KIND_UPGRADE_TLS) {
        pd_srv.tls = 1;
        CHECK_OK(mfp_oauth_mailer_smtp_handle_tls_established(&pd_mailer, pd_now));
      }
    }
    uint8_t out[512];
    for (;;) {
      size_t w = 0;
      bool sensitive = false;
      if (mfp_oauth_mailer_smtp_poll_transmit(&pd_mailer, pd_now, out, sizeof out, &w, &sensitive) !=
              MFP_OAUTH_STATUS_OK ||
          w == 0)
        break;
      pd_server_receive(out, w);
    }
    CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
    /* The server answered QUIT and closes the connection. */
    if (plan.kind == MFP_OAUTH_PLAN_KIND_SESSION && pd_srv.step == script_len && pd_srv.inbox_len == 0) {
      CHECK_OK(mfp_oauth_mailer_smtp_handle_close(&pd_mailer, pd_now));
      CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
    }
  }
  CHECK(pd_srv.step == script_len);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_FAILED && plan.diag == MFP_OAUTH_STATUS_SMTP_AUTH_DISABLED);
  /* The session is gone; its deciding reply stays for the log. */
  CHECK_OK(mfp_oauth_mailer_last_reply(&pd_mailer, &code, text, sizeof text, &n));
  CHECK(code == 535);
  CHECK(n == strlen(text));
  CHECK(strstr(text, "SmtpClientAuthentication is disabled") != NULL);
  char tiny[8];
  size_t need = 0;
  CHECK_STATUS(mfp_oauth_mailer_last_reply(&pd_mailer, &code, tiny, sizeof tiny, &need),
               MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  CHECK(need == n + 1);
  CHECK_STATUS(mfp_oauth_mailer_last_reply(&pd_mailer, NULL, text, sizeof text, &n),
               MFP_OAUTH_STATUS_NULL_PARAMETER);
  CHECK_STATUS(mfp_oauth_mailer_last_reply(NULL, &code, text, sizeof text, &n),
               MFP_OAUTH_STATUS_NULL_PARAMETER);
  CHECK_OK(mfp_oauth_mailer_destroy(&pd_mailer));
  CHECK(pd_failed == failed_before);
}

/* Issue 15: the server's certificate is refused during the STARTTLS
 * handshake (unknown authority). The firmware reports the TLS stack's
 * reason with mfp_oauth_mailer_smtp_handle_tls_failed: the job fails with
 * E609 (as on implicit TLS), not E325 "connection closed, try again"; no
 * AUTH octet was produced (the token never left); no server reply is kept
 * as the reason (the 220 to STARTTLS is not it). */
static const pd_exchange t_starttls_script[] = {
    {"EHLO mfp-3f.contoso.com",
     "250-SN4PR0501CA0054.outlook.office365.com Hello [203.0.113.7]\r\n250-ENHANCEDSTATUSCODES\r\n"
     "250 STARTTLS\r\n"},
    {"STARTTLS", "220 2.0.0 SMTP server ready\r\n"},
};

TEST(a_certificate_refused_at_starttls_fails_the_job_with_its_diagnostic) {
  int failed_before = pd_failed;
  mfp_oauth_settings s = pd_settings();
  mfp_oauth_plan plan;
  t_acquired(&s);
  /* No session yet: a TLS failure is out of place. */
  CHECK_STATUS(mfp_oauth_mailer_smtp_handle_tls_failed(&pd_mailer, pd_now,
                                                       MFP_OAUTH_STATUS_CERTIFICATE_UNTRUSTED),
               MFP_OAUTH_STATUS_WRONG_STATE);

  pd_send_scan(&plan);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_CONNECT);
  CHECK_OK(mfp_oauth_mailer_connected(&pd_mailer, pd_now, "mfp-3f.contoso.com", 18, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_SESSION);
  size_t script_len = sizeof t_starttls_script / sizeof t_starttls_script[0];
  pd_server_open(t_starttls_script, script_len);
  pd_server_says("220 SN4PR0501CA0054.outlook.office365.com Microsoft ESMTP MAIL Service ready\r\n");
  int upgrades = 0;
  size_t octets_after_starttls = 0;
  for (int turn = 0; turn < 60 && plan.kind == MFP_OAUTH_PLAN_KIND_SESSION; turn++) {
    CHECK_OK(pd_feed_input());
    mfp_oauth_step st;
    for (;;) {
      CHECK_OK(mfp_oauth_mailer_poll_event(&pd_mailer, pd_now, &st));
      if (st.kind == MFP_OAUTH_STEP_KIND_NONE) break;
      if (st.kind == MFP_OAUTH_STEP_KIND_SMTP && st.smtp.kind == MFP_OAUTH_SMTP_EVENT_KIND_UPGRADE_TLS) {
        upgrades++;
        /* The TLS stack refused the server's certificate. A diagnostic
         * that is not a TLS one is refused first and changes nothing. */
        CHECK_STATUS(mfp_oauth_mailer_smtp_handle_tls_failed(&pd_mailer, pd_now,
                                                             MFP_OAUTH_STATUS_SMTP_TIMEOUT),
                     MFP_OAUTH_STATUS_INVALID_ARGUMENT);
        CHECK_OK(mfp_oauth_mailer_smtp_handle_tls_failed(&pd_mailer, pd_now,
                                                         MFP_OAUTH_STATUS_CERTIFICATE_UNTRUSTED));
      }
    }
    uint8_t out[512];
    for (;;) {
      size_t w = 0;
      bool sensitive = false;
      if (mfp_oauth_mailer_smtp_poll_transmit(&pd_mailer, pd_now, out, sizeof out, &w, &sensitive) !=
              MFP_OAUTH_STATUS_OK ||
          w == 0)
        break;
      CHECK(!sensitive);
      if (upgrades > 0) octets_after_starttls += w;
      else pd_server_receive(out, w);
    }
    CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  }
  CHECK(upgrades == 1);
  CHECK(pd_srv.step == script_len);
  CHECK(octets_after_starttls == 0); /* no AUTH, nothing at all */
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_FAILED);
  CHECK(plan.diag == MFP_OAUTH_STATUS_CERTIFICATE_UNTRUSTED);
  uint32_t code = 0;
  char text[MFP_OAUTH_REPLY_TEXT_BUF_LEN];
  size_t n = 0;
  CHECK_STATUS(mfp_oauth_mailer_last_reply(&pd_mailer, &code, text, sizeof text, &n),
               MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_OK(mfp_oauth_mailer_destroy(&pd_mailer));
  CHECK(pd_failed == failed_before);
}

/* Trap 7: every fixed-length text field has its #define, and readers take
 * const handles (with -Werror a const pointer to a non-const parameter
 * does not compile). */
#define T_FIELD_LEN(type, field) sizeof(((type *)0)->field)
_Static_assert(T_FIELD_LEN(mfp_oauth_plan, user_id) == MFP_OAUTH_USER_ID_BUF_LEN, "user_id");
_Static_assert(T_FIELD_LEN(mfp_oauth_plan, account) == MFP_OAUTH_ADDRESS_BUF_LEN, "account");
_Static_assert(T_FIELD_LEN(mfp_oauth_plan, host) == MFP_OAUTH_HOST_BUF_LEN, "host");
_Static_assert(T_FIELD_LEN(mfp_oauth_step, user_id) == MFP_OAUTH_USER_ID_BUF_LEN, "step user_id");
_Static_assert(T_FIELD_LEN(mfp_oauth_user_token, user_id) == MFP_OAUTH_USER_ID_BUF_LEN, "user_id");
_Static_assert(T_FIELD_LEN(mfp_oauth_user_token, account) == MFP_OAUTH_ADDRESS_BUF_LEN, "account");
_Static_assert(T_FIELD_LEN(mfp_oauth_endpoint, host) == MFP_OAUTH_HOST_BUF_LEN, "endpoint host");
_Static_assert(T_FIELD_LEN(mfp_oauth_settings, send_as) ==
                   MFP_OAUTH_MAX_SEND_AS * sizeof(mfp_oauth_str),
               "send_as");

TEST(readers_take_const_handles) {
  static mfp_oauth_mailer m;
  static mfp_oauth_user_slot m_users[MFP_OAUTH_MAX_USER_SLOTS];
  static mfp_oauth_smtp smtp;
  static mfp_oauth_token_client tc;
  memset(&m, 0, sizeof m);
  memset(&smtp, 0, sizeof smtp);
  memset(&tc, 0, sizeof tc);
  mfp_oauth_settings s = pd_settings();
  CHECK_OK(mfp_oauth_mailer_create(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &s));
  const mfp_oauth_mailer *cm = &m;
  const mfp_oauth_smtp *cs = &smtp;
  const mfp_oauth_token_client *ct = &tc;
  mfp_oauth_plan plan;
  mfp_oauth_settings back;
  mfp_oauth_token_status ts;
  mfp_oauth_user_token u;
  mfp_oauth_smtp_state state;
  size_t count = 0, n = 0;
  bool notice = false;
  uint32_t code = 0;
  uint64_t deadline = 0;
  char buf[MFP_OAUTH_REPLY_TEXT_BUF_LEN], uri[257];
  CHECK_OK(mfp_oauth_mailer_plan(cm, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_IDLE);
  CHECK_OK(mfp_oauth_mailer_settings(cm, &back));
  CHECK_OK(mfp_oauth_mailer_token_status(cm, NULL, 0, &ts));
  CHECK_OK(mfp_oauth_mailer_token_overview(cm, &count, &notice));
  CHECK_STATUS(mfp_oauth_mailer_user_token(cm, 0, &u), MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(mfp_oauth_mailer_last_reply(cm, &code, buf, sizeof buf, &n), MFP_OAUTH_STATUS_WRONG_STATE);
  /* Uncreated session and client: a status, through const handles too. */
  CHECK_STATUS(mfp_oauth_smtp_session_state(cs, &state), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_smtp_last_reply(cs, &code, buf, sizeof buf, &n), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_smtp_poll_timeout(cs, &deadline), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_token_client_poll_timeout(ct, &deadline), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_token_client_authorize_url(ct, uri, sizeof uri, &n), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_token_client_device_code(ct, buf, sizeof buf, uri, sizeof uri, &deadline),
               MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_OK(mfp_oauth_mailer_destroy(&m));
}

/* R-MEM, R-NV: the image written in pieces through a 64-octet page is the
 * whole image, octet for octet; it is confirmed only once complete; a
 * change between pieces (E512) leaves an incomplete image that is never
 * confirmed, and the last good slot still loads. */
static size_t t_pieces(mfp_oauth_mailer *m, const uint8_t *key, const uint8_t *random,
                       uint8_t *slot_mem, mfp_oauth_nv_slot *slot, uint32_t *seq) {
  size_t len = 0, offset = 0, n = 0, written = 0;
  uint8_t page[64];
  CHECK_OK(mfp_oauth_mailer_save_begin(m, key, random, &len, slot, seq));
  for (;;) {
    CHECK_OK(mfp_oauth_mailer_save_next(m, page, sizeof page, &offset, &n));
    if (n == 0) break;
    CHECK(offset == written && n <= sizeof page && offset + n <= len);
    if (offset + n > len) break;
    memcpy(slot_mem + offset, page, n);
    written += n;
    if (written < len) {
      /* Not confirmed before the last piece. */
      CHECK_STATUS(mfp_oauth_mailer_image_written(m, *slot, *seq), MFP_OAUTH_STATUS_WRONG_STATE);
    }
  }
  CHECK(written == len);
  return written;
}

TEST(the_image_is_written_in_pieces_through_a_small_page) {
  static mfp_oauth_mailer m, m2;
  static mfp_oauth_user_slot m_users[MFP_OAUTH_MAX_USER_SLOTS], m2_users[MFP_OAUTH_MAX_USER_SLOTS];
  static uint8_t whole[MFP_OAUTH_NV_IMAGE_MAX_LEN], slots[2][MFP_OAUTH_NV_IMAGE_MAX_LEN];
  memset(&m, 0, sizeof m);
  memset(&m2, 0, sizeof m2);
  memset(slots, 0xff, sizeof slots);
  const mfp_oauth_status NP = MFP_OAUTH_STATUS_NULL_PARAMETER;
  mfp_oauth_settings s = t_settings_with_proxy(), back;
  CHECK_OK(mfp_oauth_mailer_create(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &s));
  t_drain(&m, NULL);
  const uint8_t key[MFP_OAUTH_DEVICE_KEY_LEN] = {9, 8, 7};
  const uint8_t random[MFP_OAUTH_SEAL_RANDOM_LEN] = {1, 2, 3, 4, 5, 6, 7};
  size_t len = 0, offset = 0, n = 0;
  mfp_oauth_nv_slot slot, whole_slot;
  uint32_t seq, whole_seq;
  uint8_t page[64];

  /* Misuse: no begin, NULL outputs, an empty page. */
  CHECK_STATUS(mfp_oauth_mailer_save_next(&m, page, sizeof page, &offset, &n),
               MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_mailer_save_begin(&m, key, NULL, &len, &slot, &seq), NP);
  CHECK_STATUS(mfp_oauth_mailer_save_begin(&m, NULL, NULL, NULL, &slot, &seq), NP);
  CHECK_OK(mfp_oauth_mailer_save_begin(&m, NULL, NULL, &len, &slot, &seq));
  CHECK_STATUS(mfp_oauth_mailer_save_next(&m, page, 0, &offset, &n), MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  CHECK_STATUS(mfp_oauth_mailer_save_next(&m, page, sizeof page, NULL, &n), NP);

  /* The same image as the whole save, sealed, to the same slot. */
  CHECK_OK(mfp_oauth_mailer_save(&m, key, random, whole, sizeof whole, &n, &whole_slot, &whole_seq));
  size_t got = t_pieces(&m, key, random, slots[whole_slot], &slot, &seq);
  CHECK(slot == whole_slot && seq == whole_seq);
  CHECK(got == n && memcmp(slots[slot], whole, n) == 0);
  CHECK_OK(mfp_oauth_mailer_image_written(&m, slot, seq));
  mfp_oauth_nv_report r;
  CHECK_OK(mfp_oauth_mailer_load(&m2, m2_users, MFP_OAUTH_MAX_USER_SLOTS, slots[0], sizeof slots[0], slots[1], sizeof slots[1], key, &r));
  CHECK(r.sequence == seq);
  CHECK_OK(mfp_oauth_mailer_settings(&m2, &back));
  CHECK(back.proxy_password_keep && back.send_as_count == 2 && back.smtp_port == 587);
  CHECK_OK(mfp_oauth_mailer_destroy(&m2));

  /* A change between pieces: the next slot gets an incomplete image. */
  CHECK_OK(mfp_oauth_mailer_save_begin(&m, key, random, &len, &slot, &seq));
  CHECK(slot != whole_slot);
  CHECK_OK(mfp_oauth_mailer_save_next(&m, page, sizeof page, &offset, &n));
  memcpy(slots[slot] + offset, page, n);
  s.smtp_port = 2525;
  CHECK_OK(mfp_oauth_mailer_apply_settings(&m, &s, &t_draft));
  mfp_oauth_status st;
  while ((st = mfp_oauth_mailer_save_next(&m, page, sizeof page, &offset, &n)) == MFP_OAUTH_STATUS_OK &&
         n > 0)
    memcpy(slots[slot] + offset, page, n);
  CHECK_STATUS(st, MFP_OAUTH_STATUS_NV_IMAGE_CHANGED);
  CHECK_STATUS(mfp_oauth_mailer_image_written(&m, slot, seq), MFP_OAUTH_STATUS_WRONG_STATE);
  /* Power-on: the last good image loads (port 587, not the half-written 2525). */
  CHECK_OK(mfp_oauth_mailer_load(&m2, m2_users, MFP_OAUTH_MAX_USER_SLOTS, slots[0], sizeof slots[0], slots[1], sizeof slots[1], key, &r));
  CHECK(r.slot == whole_slot && r.other == MFP_OAUTH_NV_SLOT_STATE_CORRUPT);
  CHECK_OK(mfp_oauth_mailer_settings(&m2, &back));
  CHECK(back.smtp_port == 587);
  CHECK_OK(mfp_oauth_mailer_destroy(&m2));
  /* The change asked for a new image: written again, it is complete. */
  CHECK(t_drain(&m, NULL) >= 1);
  t_pieces(&m, key, random, slots[slot], &slot, &seq);
  CHECK_OK(mfp_oauth_mailer_image_written(&m, slot, seq));
  CHECK_OK(mfp_oauth_mailer_load(&m2, m2_users, MFP_OAUTH_MAX_USER_SLOTS, slots[0], sizeof slots[0], slots[1], sizeof slots[1], key, &r));
  CHECK(r.slot == slot && r.sequence == seq);
  CHECK_OK(mfp_oauth_mailer_settings(&m2, &back));
  CHECK(back.smtp_port == 2525);
  CHECK_OK(mfp_oauth_mailer_destroy(&m2));
  CHECK_OK(mfp_oauth_mailer_destroy(&m));
}

/* R-MEM, R-NV: power-on from flash that is not memory-mapped, read through
 * the firmware's driver: the same state as from memory; a read fault is
 * STORAGE_FAULT and loads nothing; a scratch too short for the newest
 * image's records is BUFFER_TOO_SMALL, never the older image instead. */
typedef struct {
  const uint8_t *slot[2];
  size_t reads, fail_at, largest;
} t_flash;

static int32_t t_flash_read(void *ctx, uint32_t slot, size_t offset, uint8_t *out, size_t len) {
  t_flash *f = ctx;
  size_t n = f->reads++;
  if (len > f->largest) f->largest = len;
  if (slot > 1 || n == f->fail_at) return -1;
  memcpy(out, f->slot[slot] + offset, len);
  return 0;
}

TEST(power_on_reads_flash_through_the_driver) {
  static mfp_oauth_mailer m, m2;
  static mfp_oauth_user_slot m_users[MFP_OAUTH_MAX_USER_SLOTS], m2_users[MFP_OAUTH_MAX_USER_SLOTS];
  static uint8_t slots[2][MFP_OAUTH_NV_IMAGE_MAX_LEN];
  const mfp_oauth_status NP = MFP_OAUTH_STATUS_NULL_PARAMETER;
  memset(&m, 0, sizeof m);
  memset(&m2, 0, sizeof m2);
  memset(slots, 0xff, sizeof slots);
  const uint8_t key[MFP_OAUTH_DEVICE_KEY_LEN] = {3, 1, 4};
  const uint8_t random[MFP_OAUTH_SEAL_RANDOM_LEN] = {2, 7, 1, 8, 2, 8, 1};
  mfp_oauth_settings s = t_settings_with_proxy(), back;
  CHECK_OK(mfp_oauth_mailer_create(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &s));
  t_drain(&m, NULL);
  mfp_oauth_nv_slot slot;
  uint32_t seq;
  t_pieces(&m, key, random, slots[0], &slot, &seq);
  CHECK_OK(mfp_oauth_mailer_image_written(&m, slot, seq));
  s.smtp_port = 2525;
  CHECK_OK(mfp_oauth_mailer_apply_settings(&m, &s, &t_draft));
  t_pieces(&m, key, random, slots[1], &slot, &seq);
  CHECK_OK(mfp_oauth_mailer_image_written(&m, slot, seq));
  CHECK_OK(mfp_oauth_mailer_destroy(&m));

  t_flash flash = {{slots[0], slots[1]}, 0, (size_t)-1, 0};
  mfp_oauth_slot_reader reader = {t_flash_read, &flash, sizeof slots[0], sizeof slots[1]};
  static uint8_t scratch[MFP_OAUTH_NV_RECORDS_MAX_LEN];
  mfp_oauth_nv_report r, r_mem;
  CHECK_OK(mfp_oauth_mailer_load_from(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &reader, scratch, 512, key, &r));
  CHECK(flash.largest <= 512);
  CHECK_OK(mfp_oauth_mailer_load(&m2, m2_users, MFP_OAUTH_MAX_USER_SLOTS, slots[0], sizeof slots[0], slots[1], sizeof slots[1], key, &r_mem));
  CHECK(r.slot == r_mem.slot && r.sequence == r_mem.sequence && r.other == r_mem.other);
  CHECK(r.slot == slot);
  CHECK_OK(mfp_oauth_mailer_settings(&m, &back));
  CHECK(back.smtp_port == 2525 && back.proxy_password_keep && back.send_as_count == 2);
  /* The proxy password was read and opened: both mailers save the same image. */
  static uint8_t img1[MFP_OAUTH_NV_IMAGE_MAX_LEN], img2[MFP_OAUTH_NV_IMAGE_MAX_LEN];
  size_t n1, n2;
  CHECK_OK(mfp_oauth_mailer_save(&m, key, random, img1, sizeof img1, &n1, &slot, &seq));
  CHECK_OK(mfp_oauth_mailer_save(&m2, key, random, img2, sizeof img2, &n2, &slot, &seq));
  CHECK(n1 == n2 && memcmp(img1, img2, n1) == 0);
  CHECK_OK(mfp_oauth_mailer_destroy(&m2));
  CHECK_STATUS(mfp_oauth_mailer_load_from(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &reader, scratch, sizeof scratch, key, &r),
               MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_OK(mfp_oauth_mailer_destroy(&m));

  /* Misuse. */
  CHECK_STATUS(mfp_oauth_mailer_load_from(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, NULL, scratch, sizeof scratch, key, &r), NP);
  mfp_oauth_slot_reader no_read = {NULL, NULL, sizeof slots[0], sizeof slots[1]};
  CHECK_STATUS(mfp_oauth_mailer_load_from(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &no_read, scratch, sizeof scratch, key, &r), NP);

  /* A scratch too short: refused, and nothing loads. */
  CHECK_STATUS(mfp_oauth_mailer_load_from(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &reader, scratch, 16, key, &r),
               MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  CHECK_STATUS(mfp_oauth_mailer_settings(&m, &back), MFP_OAUTH_STATUS_WRONG_STATE);

  /* A read fault at any read: STORAGE_FAULT, nothing loads. */
  flash.reads = 0;
  flash.fail_at = (size_t)-1;
  CHECK_OK(mfp_oauth_mailer_load_from(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &reader, scratch, sizeof scratch, key, &r));
  CHECK_OK(mfp_oauth_mailer_destroy(&m));
  size_t reads = flash.reads;
  for (size_t i = 0; i < reads; i++) {
    flash.reads = 0;
    flash.fail_at = i;
    CHECK_STATUS(mfp_oauth_mailer_load_from(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &reader, scratch, sizeof scratch, key, &r),
                 MFP_OAUTH_STATUS_STORAGE_FAULT);
    CHECK_STATUS(mfp_oauth_mailer_settings(&m, &back), MFP_OAUTH_STATUS_WRONG_STATE);
  }
}

/* R-APP: the refresh margin is a setting: 600 s by default, 60 to 1800,
 * read back, and saved in the image. */
TEST(the_refresh_margin_is_a_setting) {
  static mfp_oauth_mailer m, m2;
  static mfp_oauth_user_slot m_users[MFP_OAUTH_MAX_USER_SLOTS], m2_users[MFP_OAUTH_MAX_USER_SLOTS];
  static uint8_t image[MFP_OAUTH_NV_IMAGE_MAX_LEN];
  memset(&m, 0, sizeof m);
  memset(&m2, 0, sizeof m2);
  mfp_oauth_settings s = pd_settings(), back;
  CHECK(s.refresh_margin_s == 600);
  s.refresh_margin_s = 59;
  CHECK_STATUS(mfp_oauth_mailer_create(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &s), MFP_OAUTH_STATUS_REFRESH_MARGIN_INVALID);
  s.refresh_margin_s = 70000;
  CHECK_STATUS(mfp_oauth_mailer_create(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &s), MFP_OAUTH_STATUS_REFRESH_MARGIN_INVALID);
  s.refresh_margin_s = 900;
  CHECK_OK(mfp_oauth_mailer_create(&m, m_users, MFP_OAUTH_MAX_USER_SLOTS, &s));
  CHECK_OK(mfp_oauth_mailer_settings(&m, &back));
  CHECK(back.refresh_margin_s == 900);
  s.refresh_margin_s = 1801;
  CHECK_STATUS(mfp_oauth_mailer_apply_settings(&m, &s, &t_draft), MFP_OAUTH_STATUS_REFRESH_MARGIN_INVALID);
  size_t n = t_image(&m, image);
  mfp_oauth_nv_report r;
  CHECK_OK(mfp_oauth_mailer_load(&m2, m2_users, MFP_OAUTH_MAX_USER_SLOTS, image, n, NULL, 0, NULL, &r));
  CHECK_OK(mfp_oauth_mailer_settings(&m2, &back));
  CHECK(back.refresh_margin_s == 900);
  CHECK_OK(mfp_oauth_mailer_destroy(&m2));
  CHECK_OK(mfp_oauth_mailer_destroy(&m));
}

/* Issue 18, R-APP: a print-management server hands in an access token. Jobs
 * use it (the plan goes straight to CONNECT); the administrator's slot takes
 * one for the administrator address only; when it ends, the job asks for a
 * new one (E513), not for a sign-in at the panel. */
TEST(a_handed_in_token_sends_until_it_ends) {
  static const char token[] = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.handed-in";
  const uint8_t *tok = (const uint8_t *)token;
  const size_t tok_len = sizeof token - 1;
  mfp_oauth_settings s = pd_settings();
  mfp_oauth_plan plan;
  memset(&pd_mailer, 0, sizeof pd_mailer);
  CHECK_OK(mfp_oauth_mailer_create(&pd_mailer, pd_users, PD_USER_SLOTS, &s));
  CHECK_STATUS(mfp_oauth_mailer_install_token(&pd_mailer, pd_now, NULL, 0, "ceo@contoso.com", 15, tok,
                                              tok_len, 3600),
               MFP_OAUTH_STATUS_ACCOUNT_MISMATCH);
  CHECK_STATUS(mfp_oauth_mailer_install_token(&pd_mailer, pd_now, NULL, 0, "admin@contoso.com", 17, tok,
                                              tok_len, 0),
               MFP_OAUTH_STATUS_HANDED_TOKEN_EXPIRED);
  CHECK_STATUS(mfp_oauth_mailer_install_token(&pd_mailer, pd_now, NULL, 0, "admin@contoso.com", 17, NULL,
                                              tok_len, 3600),
               MFP_OAUTH_STATUS_NULL_PARAMETER);
  CHECK_STATUS(mfp_oauth_mailer_install_token(&pd_mailer, pd_now, NULL, 0, "not an address", 14, tok,
                                              tok_len, 3600),
               MFP_OAUTH_STATUS_INVALID_ADDRESS);
  /* Nothing installed yet: the job asks the administrator to sign in. */
  pd_send_scan(&plan);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_NEED_ADMIN_AUTH);
  CHECK_OK(mfp_oauth_mailer_cancel(&pd_mailer, pd_now, MFP_OAUTH_STATUS_WRONG_STATE, &plan));
  CHECK_OK(mfp_oauth_mailer_install_token(&pd_mailer, pd_now, NULL, 0, "admin@contoso.com", 17, tok,
                                          tok_len, 3600));
  pd_send_scan(&plan);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_CONNECT);
  CHECK_OK(mfp_oauth_mailer_cancel(&pd_mailer, pd_now, MFP_OAUTH_STATUS_WRONG_STATE, &plan));
  /* Within the refresh margin of its end: a new token must be handed in. */
  uint64_t saved = pd_now;
  pd_now += 3000 * 1000;
  pd_send_scan(&plan);
  pd_now = saved;
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_FAILED && plan.diag == MFP_OAUTH_STATUS_HANDED_TOKEN_EXPIRED);
  CHECK_OK(mfp_oauth_mailer_destroy(&pd_mailer));
}

/* Issue 18, R-APP: Microsoft app-only with a certificate. No one signs in:
 * the job's TOKEN_EXCHANGE runs the client credentials grant, whose
 * assertion the firmware signs with its own key (here a fixed stand-in:
 * the scripted endpoint does not verify); nothing goes out before the
 * signature; the token sends the scan. */
TEST(app_only_with_a_certificate_signed_by_the_firmware) {
  static const char app_token[] =
      "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"EwAppOnlyToken\"}";
  mfp_oauth_settings s = pd_settings();
  s.admin_sign_in = MFP_OAUTH_ADMIN_SIGN_IN_APP_CERTIFICATE;
  s.app_certificate_thumbprint =
      PD_STR("5A0B6D3E112233445566778899AABBCCDDEEFF00123456789ABCDEF00F1E2D3C");
  mfp_oauth_plan plan;
  memset(&pd_mailer, 0, sizeof pd_mailer);
  CHECK_OK(mfp_oauth_mailer_create(&pd_mailer, pd_users, PD_USER_SLOTS, &s));
  CHECK_OK(mfp_oauth_token_client_create(&pd_shared.tokens, &s, 0x5eed));
  pd_send_scan(&plan);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_TOKEN_EXCHANGE);
  uint8_t jti[MFP_OAUTH_JTI_RANDOM_LEN];
  memset(jti, 0x42, sizeof jti);
  CHECK_STATUS(mfp_oauth_mailer_start_token_request(&pd_mailer, pd_now, 0, jti, &pd_shared.tokens),
               MFP_OAUTH_STATUS_ASSERTION_TIME_RANGE);
  CHECK_OK(mfp_oauth_mailer_start_token_request(&pd_mailer, pd_now, 1796000000, jti, &pd_shared.tokens));
  /* Nothing to send before the signature. */
  size_t n = 0;
  bool sensitive = false;
  mfp_oauth_endpoint ep;
  CHECK_OK(mfp_oauth_token_client_poll_transmit(&pd_shared.tokens, pd_now, (uint8_t *)pd_request,
                                                sizeof pd_request, &n, &sensitive, &ep));
  CHECK(n == 0);
  mfp_oauth_token_event e;
  bool changed = false;
  CHECK_OK(mfp_oauth_mailer_poll_token_event(&pd_mailer, pd_now, 1796000000, &pd_shared.tokens, &e, &changed));
  CHECK(e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_SIGNATURE_REQUIRED && !changed);
  size_t len = 0;
  CHECK_STATUS(mfp_oauth_token_client_signing_input(&pd_shared.tokens, (uint8_t *)pd_request, 8, &len),
               MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  CHECK(len > 8 && len <= MFP_OAUTH_MAX_SIGNING_INPUT_LEN);
  CHECK_OK(mfp_oauth_token_client_signing_input(&pd_shared.tokens, (uint8_t *)pd_request, sizeof pd_request,
                                                &len));
  CHECK(memchr(pd_request, '.', len) != NULL); /* header "." claims */
  uint8_t sig[256];
  memset(sig, 0x5a, sizeof sig);
  uint8_t too_long[MFP_OAUTH_MAX_SIGNATURE_LEN + 1];
  memset(too_long, 0, sizeof too_long);
  CHECK_STATUS(mfp_oauth_token_client_handle_signature(&pd_shared.tokens, pd_now, too_long, sizeof too_long),
               MFP_OAUTH_STATUS_SIGNING_FAILED);
  CHECK_OK(mfp_oauth_token_client_handle_signature(&pd_shared.tokens, pd_now, sig, sizeof sig));
  const char *answer[] = {app_token};
  CHECK(pd_token_flow(answer, 1, "client_assertion=", 1));
  CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  pd_connect_and_send(&plan);
  CHECK_OK(mfp_oauth_token_client_destroy(&pd_shared.tokens));
  CHECK_OK(mfp_oauth_mailer_destroy(&pd_mailer));
}

/* Base64 (RFC 4648, padded) of `in`, NUL-terminated, for the checks. */
static void t_b64(const uint8_t *in, size_t len, char *out) {
  static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < len) v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < len) v |= in[i + 2];
    out[o++] = a[(v >> 18) & 63];
    out[o++] = a[(v >> 12) & 63];
    out[o++] = i + 1 < len ? a[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < len ? a[v & 63] : '=';
  }
  out[o] = 0;
}

/* Every transmit of the mailer's session appended to `wire`. */
static size_t t_transmit(char *wire, size_t at, size_t cap, int *sensitive) {
  uint8_t out[64];
  for (;;) {
    size_t w = 0;
    bool sens = false;
    if (mfp_oauth_mailer_smtp_poll_transmit(&pd_mailer, pd_now, out, sizeof out, &w, &sens) !=
            MFP_OAUTH_STATUS_OK ||
        w == 0 || at + w >= cap)
      break;
    memcpy(wire + at, out, w);
    at += w;
    *sensitive |= sens;
  }
  wire[at] = 0;
  return at;
}

/* Issue 19 (R-XPORT): the same mailer job through Microsoft Graph, from
 * C: the plan opens TLS to graph.microsoft.com:443 (no SMTP server used),
 * the request's head carries the token (a sensitive transmit),
 * READY_FOR_BODY follows the server's 100 Continue, the body is the
 * message in base64, and 202 ends the job DONE. */
TEST(a_job_through_graph) {
  int failed_before = pd_failed;
  mfp_oauth_settings s = pd_settings();
  s.transport = MFP_OAUTH_TRANSPORT_GRAPH;
  mfp_oauth_plan plan;
  t_acquired(&s);

  pd_send_scan(&plan);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_CONNECT);
  CHECK(strcmp(plan.host, "graph.microsoft.com") == 0 && plan.port == 443);
  CHECK(plan.security == MFP_OAUTH_SMTP_SECURITY_IMPLICIT_TLS);
  CHECK_OK(mfp_oauth_mailer_connected(&pd_mailer, pd_now, "mfp-3f.contoso.com", 18, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_SESSION);
  static char wire[8192];
  int sensitive = 0;
  size_t head = t_transmit(wire, 0, sizeof wire, &sensitive);
  const char *start = "POST /v1.0/me/sendMail HTTP/1.1\r\nHost: graph.microsoft.com\r\n"
                      "Authorization: Bearer ";
  CHECK(strncmp(wire, start, strlen(start)) == 0);
  CHECK(strstr(wire, "\r\nExpect: 100-continue\r\n") != NULL);
  CHECK(sensitive);
  const char *cont = "HTTP/1.1 100 Continue\r\n\r\n";
  size_t used = 0;
  CHECK_OK(mfp_oauth_mailer_smtp_handle_input(&pd_mailer, pd_now, (const uint8_t *)cont,
                                              strlen(cont), &used));
  mfp_oauth_step st;
  CHECK_OK(mfp_oauth_mailer_poll_event(&pd_mailer, pd_now, &st));
  CHECK(st.kind == MFP_OAUTH_STEP_KIND_SMTP && st.smtp.kind == MFP_OAUTH_SMTP_EVENT_KIND_READY_FOR_BODY);
  const uint8_t *body = (const uint8_t *)pd_body;
  size_t left = sizeof pd_body - 1, at = head;
  while (left > 0) {
    uint8_t out[32];
    size_t consumed = 0, written = 0;
    CHECK_OK(mfp_oauth_mailer_smtp_write_body(&pd_mailer, body, left, out, sizeof out, &consumed,
                                              &written));
    memcpy(wire + at, out, written);
    at += written;
    body += consumed;
    left -= consumed;
  }
  CHECK_OK(mfp_oauth_mailer_smtp_finish_body(&pd_mailer, pd_now));
  at = t_transmit(wire, at, sizeof wire, &sensitive);
  char expected[128];
  t_b64((const uint8_t *)pd_body, sizeof pd_body - 1, expected);
  CHECK(strcmp(wire + head, expected) == 0);
  const char *accepted = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
  CHECK_OK(mfp_oauth_mailer_smtp_handle_input(&pd_mailer, pd_now, (const uint8_t *)accepted,
                                              strlen(accepted), &used));
  for (int i = 0; i < 8; i++) {
    CHECK_OK(mfp_oauth_mailer_poll_event(&pd_mailer, pd_now, &st));
    if (st.kind == MFP_OAUTH_STEP_KIND_NONE) break;
  }
  CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_DONE && plan.reply_code == 202 && plan.accepted == 1);
  CHECK_OK(mfp_oauth_mailer_destroy(&pd_mailer));
  CHECK(pd_failed == failed_before);
}

/* Octet `i` of the large test message (made on the fly: no buffer). */
static uint8_t t_big_octet(uint64_t i) { return (uint8_t)(i * 7u + (i >> 11)); }

/* Feeds `answer` to the mailer's session. */
static void t_answer(const char *answer) {
  size_t used = 0;
  CHECK_OK(mfp_oauth_mailer_smtp_handle_input(&pd_mailer, pd_now, (const uint8_t *)answer,
                                              strlen(answer), &used));
}

/* The next step is SMTP event `kind`. */
static void t_expect_event(uint32_t kind) {
  mfp_oauth_step st;
  CHECK_OK(mfp_oauth_mailer_poll_event(&pd_mailer, pd_now, &st));
  CHECK(st.kind == MFP_OAUTH_STEP_KIND_SMTP && st.smtp.kind == kind);
}

/* Streams the message from its first octet, as a driver does after
 * READY_FOR_BODY, until `stop` octets were taken (then returns false:
 * the connection "drops") or the end (finished; returns true). Every
 * octet that goes out must be the message's octet at `from` onward. */
static bool t_stream_big(uint64_t size, uint64_t stop, uint64_t from, uint64_t *sent) {
  uint8_t in[4096], out[4096];
  uint64_t at = 0, wire = from;
  while (at < size) {
    size_t n = (size_t)(size - at < sizeof in ? size - at : sizeof in);
    for (size_t k = 0; k < n; k++) in[k] = t_big_octet(at + k);
    size_t off = 0;
    while (off < n) {
      size_t consumed = 0, written = 0;
      CHECK_OK(mfp_oauth_mailer_smtp_write_body(&pd_mailer, in + off, n - off, out, sizeof out,
                                                &consumed, &written));
      for (size_t k = 0; k < written; k++) {
        if (out[k] != t_big_octet(wire + k)) {
          CHECK(out[k] == t_big_octet(wire + k));
          return false;
        }
      }
      wire += written;
      *sent += written;
      off += consumed;
      if (consumed == 0 && written == 0) return false;
    }
    at += n;
    if (at >= stop) return false;
  }
  CHECK_OK(mfp_oauth_mailer_smtp_finish_body(&pd_mailer, pd_now));
  return true;
}

/* Submits a scan of `size` octets: the plan opens TLS to `host`:443;
 * `*plan` is then the plan `connected` gives. */
static void t_api_job(uint64_t size, const char *host, mfp_oauth_plan *plan) {
  mfp_oauth_str to = PD_STR("alice@contoso.com");
  const mfp_oauth_job job = {
      .function = MFP_OAUTH_FUNCTION_SCAN_TO_EMAIL, .to = &to, .to_count = 1, .size = size};
  CHECK_OK(mfp_oauth_mailer_submit(&pd_mailer, pd_now, &job, plan));
  CHECK(plan->kind == MFP_OAUTH_PLAN_KIND_CONNECT);
  CHECK(strcmp(plan->host, host) == 0 && plan->port == 443);
  CHECK(plan->security == MFP_OAUTH_SMTP_SECURITY_IMPLICIT_TLS);
  CHECK_OK(mfp_oauth_mailer_connected(&pd_mailer, pd_now, "mfp-3f.contoso.com", 18, plan));
}

/* The administrator's token, handed in (as a print-management server
 * does): no flow. */
static const char t_gmail_token[] = "ya29.a0AfB_handed-in";

/* A new mailer on the Gmail API (a custom provider, as a Google Workspace
 * tenant is set up) with the token handed in, and a job of `size` octets
 * whose connection is up: the session's first request is next. */
static void t_gmail_job(uint64_t size) {
  mfp_oauth_settings s = pd_settings();
  s.provider = MFP_OAUTH_PROVIDER_CUSTOM;
  s.custom_token_url = PD_STR("https://login.example.com/token");
  s.custom_device_url = PD_STR("https://login.example.com/device");
  s.custom_scope = PD_STR("https://www.googleapis.com/auth/gmail.send");
  s.api_url = PD_STR("https://gmail.googleapis.com");
  s.transport = MFP_OAUTH_TRANSPORT_GMAIL_API;
  memset(&pd_mailer, 0, sizeof pd_mailer);
  CHECK_OK(mfp_oauth_mailer_create(&pd_mailer, pd_users, PD_USER_SLOTS, &s));
  CHECK_OK(mfp_oauth_mailer_install_token(&pd_mailer, pd_now, NULL, 0, "admin@contoso.com", 17,
                                          (const uint8_t *)t_gmail_token, sizeof t_gmail_token - 1,
                                          3600));
  t_drain(&pd_mailer, NULL);
  mfp_oauth_plan plan;
  t_api_job(size, "gmail.googleapis.com", &plan);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_SESSION);
}

/* The transmits of the mailer's session are exactly `expected` (""
 * for none); a request's head is sensitive (it carries the token or the
 * upload's URI). */
static void t_expect_wire(const char *expected) {
  static char wire[4096];
  int sensitive = 0;
  size_t n = t_transmit(wire, 0, sizeof wire, &sensitive);
  CHECK(n == strlen(expected) && strcmp(wire, expected) == 0);
  if (strcmp(wire, expected) != 0) fprintf(stderr, "got:\n%s\nexpected:\n%s\n", wire, expected);
  CHECK(sensitive == (n > 0));
}

/* The API's `answer` (status `code`) ends the job DONE, its one
 * recipient accepted; the mailer is destroyed. */
static void t_sent(const char *answer, uint32_t code) {
  t_answer(answer);
  mfp_oauth_step st;
  for (int i = 0; i < 8; i++) {
    CHECK_OK(mfp_oauth_mailer_poll_event(&pd_mailer, pd_now, &st));
    if (st.kind == MFP_OAUTH_STEP_KIND_NONE) break;
  }
  mfp_oauth_plan plan;
  CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_DONE && plan.reply_code == code && plan.accepted == 1);
  CHECK_OK(mfp_oauth_mailer_destroy(&pd_mailer));
}

/* The Gmail API's 200 with the message's id ends the job DONE. */
static void t_gmail_sent(void) {
  t_sent("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 45\r\n\r\n"
         "{\"id\":\"18c\",\"threadId\":\"18c\",\"labelIds\":[\"x\"]}",
         200);
}

/* After an upload's head: the server's 100 Continue, READY_FOR_BODY, the
 * whole message of `size` octets streamed, each octet on the wire checked
 * in its place, nothing after the last, and the 200 that ends it DONE. */
static void t_whole_body_then_sent(uint64_t size) {
  t_answer("HTTP/1.1 100 Continue\r\n\r\n");
  t_expect_event(MFP_OAUTH_SMTP_EVENT_KIND_READY_FOR_BODY);
  uint64_t sent = 0;
  CHECK(t_stream_big(size, size + 1, 0, &sent));
  CHECK(sent == size);
  t_expect_wire("");
  t_gmail_sent();
}

/* Issue 19 (R-XPORT): a message over 5 MB through the Gmail API from C:
 * the resumable upload's start, its PUT cut by a lost connection, a new
 * connection that asks what the server has (308, Range) and sends only
 * the rest, the driver streaming the message again from its first octet
 * as READY_FOR_BODY asks. */
TEST(a_large_message_through_the_gmail_api_resumes_after_a_drop) {
  int failed_before = pd_failed;
  const uint64_t size = 6u * 1024u * 1024u;
  const uint64_t held = 2u * 1024u * 1024u;
  t_gmail_job(size);
  static char wire[4096];
  int sensitive = 0;
  t_transmit(wire, 0, sizeof wire, &sensitive);
  const char *start = "POST /upload/gmail/v1/users/me/messages/send?uploadType=resumable ";
  CHECK(strncmp(wire, start, strlen(start)) == 0);
  CHECK(strstr(wire, "\r\nAuthorization: Bearer ya29.a0AfB_handed-in\r\n") != NULL);
  CHECK(sensitive);
  t_answer("HTTP/1.1 200 OK\r\nLocation: https://gmail.googleapis.com/upload/gmail/v1/users/me/"
           "messages/send?uploadType=resumable&upload_id=XYZ\r\nContent-Length: 0\r\n\r\n");
  t_transmit(wire, 0, sizeof wire, &sensitive);
  const char *put = "PUT /upload/gmail/v1/users/me/messages/send?uploadType=resumable&upload_id=XYZ ";
  CHECK(strncmp(wire, put, strlen(put)) == 0);
  CHECK(strstr(wire, "Authorization") == NULL);
  CHECK(strstr(wire, "\r\nContent-Range: bytes 0-6291455/6291456\r\n") != NULL);
  t_answer("HTTP/1.1 100 Continue\r\n\r\n");
  t_expect_event(MFP_OAUTH_SMTP_EVENT_KIND_READY_FOR_BODY);
  uint64_t sent = 0;
  CHECK(!t_stream_big(size, 3u * 1024u * 1024u, 0, &sent));
  CHECK(sent == 3u * 1024u * 1024u);

  /* The connection drops: the job goes on over a new one. */
  CHECK_OK(mfp_oauth_mailer_smtp_handle_close(&pd_mailer, pd_now));
  mfp_oauth_step st;
  CHECK_OK(mfp_oauth_mailer_poll_event(&pd_mailer, pd_now, &st));
  CHECK(st.kind == MFP_OAUTH_STEP_KIND_PLAN_CHANGED);
  mfp_oauth_plan plan;
  CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_CONNECT);
  CHECK_OK(mfp_oauth_mailer_connected(&pd_mailer, pd_now, "mfp-3f.contoso.com", 18, &plan));
  t_transmit(wire, 0, sizeof wire, &sensitive);
  CHECK(strstr(wire, "\r\nContent-Range: bytes */6291456\r\nContent-Length: 0\r\n") != NULL);
  t_answer("HTTP/1.1 308 Resume Incomplete\r\nRange: bytes=0-2097151\r\nContent-Length: 0\r\n\r\n");
  t_transmit(wire, 0, sizeof wire, &sensitive);
  CHECK(strstr(wire, "\r\nContent-Range: bytes 2097152-6291455/6291456\r\nContent-Length: 4194304\r\n") !=
        NULL);
  t_answer("HTTP/1.1 100 Continue\r\n\r\n");
  t_expect_event(MFP_OAUTH_SMTP_EVENT_KIND_READY_FOR_BODY);
  sent = 0;
  CHECK(t_stream_big(size, size + 1, held, &sent));
  CHECK(sent == size - held);
  t_gmail_sent();
  CHECK(pd_failed == failed_before);
}

/* Issue 19 (R-XPORT): a message of `size` octets (at most 5 MB) through
 * the Gmail API's media upload from C, every octet on the wire checked:
 * the one POST's head exactly (uploadType=media, message/rfc822, the
 * exact Content-Length, the token), then after 100 Continue the body is
 * the message's octets, each in its place, and nothing after them; the
 * 200 with the message's id ends the job DONE. */
static void t_gmail_media_upload(uint64_t size) {
  int failed_before = pd_failed;
  t_gmail_job(size);
  char head[512];
  snprintf(head, sizeof head,
           "POST /upload/gmail/v1/users/me/messages/send?uploadType=media HTTP/1.1\r\n"
           "Host: gmail.googleapis.com\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: message/rfc822\r\nContent-Length: %" PRIu64 "\r\n"
           "Expect: 100-continue\r\nConnection: close\r\nUser-Agent: mfp-oauth\r\n\r\n",
           t_gmail_token, size);
  t_expect_wire(head);
  t_whole_body_then_sent(size);
  CHECK(pd_failed == failed_before);
}

TEST(a_1_kb_message_through_the_gmail_api_media_upload) { t_gmail_media_upload(1024u); }

TEST(a_3_5_mb_message_through_the_gmail_api_media_upload) {
  t_gmail_media_upload(3584u * 1024u);
}

/* Issue 19 (R-XPORT): a 30 MB message (under the Gmail API's 35 MiB)
 * through its resumable upload from C, no drop, every octet on the wire
 * checked: the start's head exactly (the token, the size announced, no
 * body), its Location, the PUT's head exactly (the upload's URI, no
 * token, Content-Range 0-N/size), then after 100 Continue the message's
 * octets, each in its place, and nothing after them; 200 ends it DONE. */
TEST(a_30_mb_message_through_the_gmail_api_resumable_upload) {
  int failed_before = pd_failed;
  const uint64_t size = 30u * 1024u * 1024u;
  t_gmail_job(size);
  char head[512];
  snprintf(head, sizeof head,
           "POST /upload/gmail/v1/users/me/messages/send?uploadType=resumable HTTP/1.1\r\n"
           "Host: gmail.googleapis.com\r\nAuthorization: Bearer %s\r\n"
           "X-Upload-Content-Type: message/rfc822\r\nX-Upload-Content-Length: 31457280\r\n"
           "Content-Length: 0\r\nUser-Agent: mfp-oauth\r\n\r\n",
           t_gmail_token);
  t_expect_wire(head);
  t_answer("HTTP/1.1 200 OK\r\nLocation: https://gmail.googleapis.com/upload/gmail/v1/users/me/"
           "messages/send?uploadType=resumable&upload_id=AEnB2Uq\r\nContent-Length: 0\r\n\r\n");
  t_expect_wire("PUT /upload/gmail/v1/users/me/messages/send?uploadType=resumable&upload_id=AEnB2Uq "
                "HTTP/1.1\r\nHost: gmail.googleapis.com\r\nContent-Type: message/rfc822\r\n"
                "Content-Range: bytes 0-31457279/31457280\r\nContent-Length: 31457280\r\n"
                "Expect: 100-continue\r\nConnection: close\r\nUser-Agent: mfp-oauth\r\n\r\n");
  t_whole_body_then_sent(size);
  CHECK(pd_failed == failed_before);
}

/* Issue 19 (R-XPORT): Graph takes up to 150 MB (larger messages through
 * a draft and upload sessions): a 160 MB job fails with E706 at the
 * submit, its size known: no connection is asked for and nothing goes on
 * the wire. */
TEST(a_message_over_graphs_limit_fails_before_anything_is_sent) {
  int failed_before = pd_failed;
  mfp_oauth_settings s = pd_settings();
  s.transport = MFP_OAUTH_TRANSPORT_GRAPH;
  t_acquired(&s);
  mfp_oauth_plan plan;
  mfp_oauth_str to = PD_STR("alice@contoso.com");
  const mfp_oauth_job job = {.function = MFP_OAUTH_FUNCTION_SCAN_TO_EMAIL,
                             .to = &to,
                             .to_count = 1,
                             .size = 160000000u};
  CHECK_OK(mfp_oauth_mailer_submit(&pd_mailer, pd_now, &job, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_FAILED);
  CHECK(plan.diag == MFP_OAUTH_STATUS_API_MESSAGE_TOO_LARGE);
  uint8_t out[256];
  size_t w = 0;
  bool sens = false;
  /* No session was begun: there is nothing to transmit. */
  CHECK_STATUS(mfp_oauth_mailer_smtp_poll_transmit(&pd_mailer, pd_now, out, sizeof out, &w, &sens),
               MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK(w == 0);
  /* No step asks for the body, and the plan stays FAILED: no new connection. */
  mfp_oauth_step step;
  for (int i = 0; i < 8; i++) {
    CHECK_OK(mfp_oauth_mailer_poll_event(&pd_mailer, pd_now, &step));
    if (step.kind == MFP_OAUTH_STEP_KIND_NONE) break;
    CHECK(step.kind != MFP_OAUTH_STEP_KIND_SMTP);
  }
  CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_FAILED && plan.diag == MFP_OAUTH_STATUS_API_MESSAGE_TOO_LARGE);
  CHECK_OK(mfp_oauth_mailer_destroy(&pd_mailer));
  CHECK(pd_failed == failed_before);
}

/* ---- issue 19: a Graph message over one sendMail, as a firmware sends it ---- */

/* The scan: 3.7 MB, over Graph's 3 MB for an upload session (two chunks
 * of at most 3,648,000 octets); octet `i` made on the fly. */
#define T_SCAN_LEN 3700000u
static uint8_t t_scan_octet(uint64_t i) { return (uint8_t)(i * 31u + (i >> 10)); }

/* A string in a static initializer (PD_STR is a compound literal). */
#define T_S(lit) {(lit), sizeof(lit) - 1}
static const mfp_oauth_str t_scan_to[] = {T_S("alice@contoso.com")};
static const mfp_oauth_mime_attachment t_scan_file[] = {
    {T_S("scan.pdf"), {NULL, 0}, T_SCAN_LEN}};
static const mfp_oauth_mime_message t_scan_message = {
    .from = T_S("admin@contoso.com"),
    .to = t_scan_to,
    .to_count = 1,
    .subject = T_S("Scan"),
    .text = T_S("Attached: 40 pages."),
    .attachments = t_scan_file,
    .attachment_count = 1,
};
static const uint8_t t_scan_random[MFP_OAUTH_MIME_RANDOM_LEN] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};

/* One pass after READY_FOR_BODY: a new composer makes the message again
 * from its first octet (same random octets and date: the same message),
 * streamed through write_body, then finish_body. The octets written are
 * kept in `keep` (`cap` octets) or, when `keep` is NULL, each must be the
 * scan's octet at `from` onward. Returns the octets written. */
static uint64_t t_scan_pass(char *keep, size_t cap, uint64_t from) {
  static mfp_oauth_mime mime;
  uint64_t size = 0, fed = 0, written = 0;
  uint8_t piece[4096], out[4096], file[MFP_OAUTH_MIME_INPUT_BUF_LEN];
  CHECK_OK(mfp_oauth_mime_begin(&mime, &t_scan_message, 1795516072u, t_scan_random, &size));
  for (;;) {
    mfp_oauth_mime_output r = {0};
    CHECK_OK(mfp_oauth_mime_poll_output(&mime, piece, sizeof piece, &r));
    if (r.kind == MFP_OAUTH_MIME_OUTPUT_KIND_NEED_INPUT) {
      size_t n = r.max < T_SCAN_LEN - fed ? r.max : (size_t)(T_SCAN_LEN - fed), taken = 0;
      for (size_t k = 0; k < n; k++) file[k] = t_scan_octet(fed + k);
      CHECK_OK(mfp_oauth_mime_handle_input(&mime, file, n, &taken));
      fed += taken;
      continue;
    }
    if (r.kind != MFP_OAUTH_MIME_OUTPUT_KIND_WROTE) break;
    for (size_t off = 0; off < r.written;) {
      size_t consumed = 0, w = 0;
      CHECK_OK(mfp_oauth_mailer_smtp_write_body(&pd_mailer, piece + off, r.written - off, out,
                                                sizeof out, &consumed, &w));
      if (consumed == 0 && w == 0) return written; /* stuck: the caller's checks fail */
      if (keep != NULL) {
        CHECK(written + w < cap);
        if (written + w >= cap) return written;
        memcpy(keep + written, out, w);
      }
      for (size_t k = 0; keep == NULL && k < w; k++) {
        if (out[k] != t_scan_octet(from + written + k)) {
          CHECK(out[k] == t_scan_octet(from + written + k));
          return written;
        }
      }
      written += w;
      off += consumed;
    }
  }
  CHECK(fed == T_SCAN_LEN);
  CHECK_OK(mfp_oauth_mime_destroy(&mime));
  CHECK_OK(mfp_oauth_mailer_smtp_finish_body(&pd_mailer, pd_now));
  return written;
}

/* Feeds the answer `status` with the JSON body `json`. */
static void t_answer_json(const char *status, const char *json) {
  static char a[1024];
  snprintf(a, sizeof a, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
           status, strlen(json), json);
  t_answer(a);
}

/* The plan after the session closed for its next request: a new TLS
 * connection to `host`:`port`, then connected. */
static void t_reconnect(const char *host, uint16_t port) {
  mfp_oauth_step st;
  CHECK_OK(mfp_oauth_mailer_poll_event(&pd_mailer, pd_now, &st));
  CHECK(st.kind == MFP_OAUTH_STEP_KIND_PLAN_CHANGED);
  mfp_oauth_plan plan;
  CHECK_OK(mfp_oauth_mailer_plan(&pd_mailer, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_CONNECT && strcmp(plan.host, host) == 0 && plan.port == port);
  CHECK(plan.security == MFP_OAUTH_SMTP_SECURITY_IMPLICIT_TLS);
  CHECK_OK(mfp_oauth_mailer_connected(&pd_mailer, pd_now, "mfp-3f.contoso.com", 18, &plan));
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_SESSION);
}

/* The request's head (all the transmits) begins with `start` and holds
 * `field` (NULL for none); returns its Content-Length. */
static uint64_t t_head(char *wire, size_t cap, const char *start, const char *field, int *sensitive) {
  *sensitive = 0;
  t_transmit(wire, 0, cap, sensitive);
  CHECK(strncmp(wire, start, strlen(start)) == 0);
  CHECK(field == NULL || strstr(wire, field) != NULL);
  if (strncmp(wire, start, strlen(start)) != 0) fprintf(stderr, "got:\n%s\n", wire);
  const char *cl = strstr(wire, "\r\nContent-Length: ");
  CHECK(cl != NULL);
  return cl ? strtoull(cl + 18, NULL, 10) : 0;
}

/* Issue 19 (R-XPORT, R-FFI): a message with a 3.7 MB scan through Graph
 * from C, composed again from its first octet for each pass as
 * READY_FOR_BODY asks: the survey (nothing sent), the draft (the message
 * without the scan's part, base64, with the token), the upload session
 * (its JSON, the token), the scan's raw octets in two ranged PUTs on the
 * upload URL's host and port (no token), then `send` back on Graph's host:
 * 202 ends the job DONE.
 *
 * The slowest case under valgrind (the debug library composes the
 * message four times, surveys it and decodes the scan's base64), run in
 * full there too. */
TEST(a_large_message_through_graph_goes_as_a_draft_upload_chunks_and_send) {
  int failed_before = pd_failed;
  mfp_oauth_settings s = pd_settings();
  s.transport = MFP_OAUTH_TRANSPORT_GRAPH;
  t_acquired(&s);
  static mfp_oauth_mime mime;
  uint64_t size = 0;
  CHECK_OK(mfp_oauth_mime_begin(&mime, &t_scan_message, 1795516072u, t_scan_random, &size));
  CHECK_OK(mfp_oauth_mime_destroy(&mime));
  mfp_oauth_plan plan;
  t_api_job(size, "graph.microsoft.com", &plan);
  CHECK(plan.kind == MFP_OAUTH_PLAN_KIND_SESSION);
  const char *bearer = "\r\nAuthorization: Bearer EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA\r\n";
  static char wire[4096];
  int sensitive = 0;

  /* The survey: the message read once, nothing sent. */
  t_expect_wire("");
  t_expect_event(MFP_OAUTH_SMTP_EVENT_KIND_READY_FOR_BODY);
  CHECK(t_scan_pass(NULL, 0, 0) == 0);

  /* The draft: the message without the scan, in base64. */
  uint64_t len = t_head(wire, sizeof wire,
                        "POST /v1.0/me/messages HTTP/1.1\r\nHost: graph.microsoft.com\r\n", bearer,
                        &sensitive);
  CHECK(sensitive && strstr(wire, "\r\nContent-Type: text/plain\r\n") != NULL);
  CHECK(strstr(wire, "\r\nExpect: 100-continue\r\n") != NULL);
  t_answer("HTTP/1.1 100 Continue\r\n\r\n");
  t_expect_event(MFP_OAUTH_SMTP_EVENT_KIND_READY_FOR_BODY);
  static char draft[16384], mime_text[16384];
  size_t n = (size_t)t_scan_pass(draft, sizeof draft, 0);
  int tail_sensitive = 0;
  n = t_transmit(draft, n, sizeof draft, &tail_sensitive); /* the last base64 quantum */
  CHECK(n == len && n % 4 == 0 && !tail_sensitive);
  size_t m = 0;
  uint32_t acc = 0;
  for (size_t i = 0; i < n && draft[i] != '='; i++) {
    const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = strchr(a, draft[i]);
    CHECK(p != NULL && draft[i] != 0);
    acc = (acc << 6) | (uint32_t)(p ? p - a : 0);
    if (i % 4 != 0 && m < sizeof mime_text - 1) mime_text[m++] = (char)(acc >> (6 - 2 * (i % 4)));
  }
  mime_text[m] = 0;
  CHECK(m > 400 && m < n);
  CHECK(strncmp(mime_text, "Date: ", 6) == 0);
  /* Only the text part is left, whole; nothing of the scan (not its
   * first base64 line, nor its name). */
  uint8_t first_line[57];
  char first_line_b64[80], text_b64[64];
  for (size_t k = 0; k < sizeof first_line; k++) first_line[k] = t_scan_octet(k);
  t_b64(first_line, sizeof first_line, first_line_b64);
  t_b64((const uint8_t *)"Attached: 40 pages.", 19, text_b64);
  const char *text = strstr(mime_text, "\r\nContent-Type: text/plain; charset=utf-8\r\n");
  CHECK(text != NULL && strstr(text, text_b64) != NULL);
  const char *first = strstr(mime_text, "\r\n--=_mfp_"), *last = text ? strstr(text, "\r\n--=_mfp_") : NULL;
  CHECK(first != NULL && first < text && last != NULL && strstr(first + 2, "\r\n--=_mfp_") == last);
  CHECK(last != NULL && strstr(last + 2, "--\r\n") == mime_text + m - 4); /* the closing boundary */
  CHECK(strstr(mime_text, first_line_b64) == NULL && strstr(mime_text, "scan.pdf") == NULL);
  t_answer_json("201 Created", "{\"id\":\"AAMk=\",\"subject\":\"Scan\"}");

  /* The upload session, on the same connection: its JSON follows the head. */
  const char *json =
      "{\"AttachmentItem\":{\"attachmentType\":\"file\",\"name\":\"scan.pdf\",\"size\":3700000}}";
  len = t_head(wire, sizeof wire,
               "POST /v1.0/me/messages/AAMk=/attachments/createUploadSession HTTP/1.1\r\n"
               "Host: graph.microsoft.com\r\n",
               bearer, &sensitive);
  CHECK(sensitive && len == strlen(json));
  CHECK(strlen(wire) > len && strcmp(wire + strlen(wire) - len, json) == 0);
  t_answer_json("201 Created",
                "{\"uploadUrl\":\"https://outlook.example:444/api/v2.0/AttachmentSessions('AAMk%3D')?"
                "authtoken=eyJ.sig\",\"nextExpectedRanges\":[\"0-\"]}");

  /* The chunks: a new connection to the upload URL's host and port. */
  t_reconnect("outlook.example", 444);
  static const struct {
    uint64_t first, last;
    const char *status, *json;
  } chunks[] = {
      {0, 3647999, "200 OK", "{\"nextExpectedRanges\":[\"3648000\"]}"},
      {3648000, 3699999, "201 Created", "{}"},
  };
  uint64_t uploaded = 0;
  for (size_t c = 0; c < 2; c++) {
    char range[80];
    snprintf(range, sizeof range, "\r\nContent-Range: bytes %" PRIu64 "-%" PRIu64 "/3700000\r\n",
             chunks[c].first, chunks[c].last);
    len = t_head(wire, sizeof wire,
                 "PUT /api/v2.0/AttachmentSessions('AAMk%3D')?authtoken=eyJ.sig HTTP/1.1\r\n"
                 "Host: outlook.example:444\r\n",
                 range, &sensitive);
    CHECK(strstr(wire, "Authorization") == NULL);
    CHECK(len == chunks[c].last - chunks[c].first + 1);
    t_answer("HTTP/1.1 100 Continue\r\n\r\n");
    t_expect_event(MFP_OAUTH_SMTP_EVENT_KIND_READY_FOR_BODY);
    CHECK(t_scan_pass(NULL, 0, uploaded) == len);
    uploaded += len;
    t_expect_wire("");
    t_answer_json(chunks[c].status, chunks[c].json);
  }
  CHECK(uploaded == T_SCAN_LEN);

  /* `send`, back on Graph's host. */
  t_reconnect("graph.microsoft.com", 443);
  len = t_head(wire, sizeof wire,
               "POST /v1.0/me/messages/AAMk=/send HTTP/1.1\r\nHost: graph.microsoft.com\r\n", bearer,
               &sensitive);
  CHECK(sensitive && len == 0);
  t_sent("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", 202);
  CHECK(pd_failed == failed_before);
}

static const test_case cases[] = {
    CASE(a_printer_day),
    CASE(misuse),
    CASE(erased_slots_may_be_passed_as_null),
    CASE(load_and_create_refuse_a_live_mailer),
    CASE(settings_round_trip_keeps_send_as_and_the_proxy_password),
    CASE(the_settings_draft_is_empty_after_each_call_and_spares_a_live_client),
    CASE(the_mailer_keeps_the_reply_that_failed_the_job),
    CASE(a_certificate_refused_at_starttls_fails_the_job_with_its_diagnostic),
    CASE(readers_take_const_handles),
    CASE(the_image_is_written_in_pieces_through_a_small_page),
    CASE(power_on_reads_flash_through_the_driver),
    CASE(the_refresh_margin_is_a_setting),
    CASE(a_handed_in_token_sends_until_it_ends),
    CASE(app_only_with_a_certificate_signed_by_the_firmware),
    CASE(a_job_through_graph),
    CASE(a_large_message_through_the_gmail_api_resumes_after_a_drop),
    CASE(a_1_kb_message_through_the_gmail_api_media_upload),
    CASE(a_3_5_mb_message_through_the_gmail_api_media_upload),
    CASE(a_30_mb_message_through_the_gmail_api_resumable_upload),
    CASE(a_message_over_graphs_limit_fails_before_anything_is_sent),
    CASE(a_large_message_through_graph_goes_as_a_draft_upload_chunks_and_send),
};

int main(void) { return RUN_CASES("mailer", cases); }

/* C tests of the mailer (R-FFI, R-POL, R-TOK, R-NV): the printer day that
 * the Cortex-M4F firmware runs (examples/firmware/printer_day.c), on the
 * host under the sanitizers and valgrind, and the mailer's misuse. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

#include "../../examples/firmware/printer_day.c"

TEST(a_printer_day) { CHECK(printer_day() == 0); }

TEST(misuse) {
  static mfp_oauth_mailer m;
  memset(&m, 0, sizeof m);
  const mfp_oauth_status NP = MFP_OAUTH_STATUS_NULL_PARAMETER;
  mfp_oauth_settings s;
  mfp_oauth_plan plan;
  mfp_oauth_step step;
  mfp_oauth_nv_report report;
  CHECK_OK(mfp_oauth_settings_init(&s));
  CHECK_STATUS(mfp_oauth_mailer_create(NULL, &s), NP);
  CHECK_STATUS(mfp_oauth_mailer_create(&m, NULL), NP);
  CHECK_STATUS(mfp_oauth_mailer_get_plan(&m, &plan), MFP_OAUTH_STATUS_WRONG_STATE);
  /* R-RULE-1: OAuth with VLAN on network 2 is refused, as its diagnostic. */
  s.oauth_enabled = true;
  s.vlan_on_network2 = true;
  CHECK_STATUS(mfp_oauth_mailer_create(&m, &s), MFP_OAUTH_STATUS_VLAN_ON_NETWORK2);
  uint32_t diags[16];
  size_t n = 0;
  CHECK_OK(mfp_oauth_settings_validate(&s, diags, 16, &n));
  CHECK(n >= 1 && diags[0] == MFP_OAUTH_STATUS_VLAN_ON_NETWORK2);
  CHECK_STATUS(mfp_oauth_settings_validate(&s, diags, 0, &n), MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  s.vlan_on_network2 = false;
  s.sender_mode = 4;
  CHECK_STATUS(mfp_oauth_mailer_create(&m, &s), MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  s.sender_mode = MFP_OAUTH_SENDER_MODE_ADMIN_FIXED_ADDRESS;
  s.admin_address = (mfp_oauth_str){"not an address", 14};
  CHECK_STATUS(mfp_oauth_mailer_create(&m, &s), MFP_OAUTH_STATUS_INVALID_ADDRESS);
  CHECK_OK(mfp_oauth_settings_init(&s));
  CHECK_OK(mfp_oauth_mailer_create(&m, &s));
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
  uint8_t junk[64];
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 37u + 11u);
  CHECK(mfp_oauth_mailer_load(&m2, junk, sizeof junk, junk, 0, NULL, &report) != MFP_OAUTH_STATUS_OK);
  /* The sealed image loads with the key only. */
  uint8_t other_key[MFP_OAUTH_DEVICE_KEY_LEN] = {8};
  CHECK(mfp_oauth_mailer_load(&m2, image, n, junk, 0, other_key, &report) != MFP_OAUTH_STATUS_OK);
  CHECK_OK(mfp_oauth_mailer_load(&m2, image, n, junk, 0, key, &report));
  CHECK_OK(mfp_oauth_mailer_destroy(&m2));
  CHECK_OK(mfp_oauth_mailer_destroy(&m));
  CHECK_OK(mfp_oauth_mailer_destroy(&m));
  CHECK_STATUS(mfp_oauth_mailer_destroy(NULL), NP);
}

static const test_case cases[] = {
    CASE(a_printer_day),
    CASE(misuse),
};

int main(void) { return RUN_CASES("mailer", cases); }

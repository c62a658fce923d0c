/* C tests of the status and diagnostic API (R-FFI, R-DIAG): texts in both
 * languages, and every misuse (NULL, short buffers, out-of-range integers). */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

TEST(version_is_a_static_string) {
  const char *v = mfp_oauth_version();
  CHECK(v != NULL);
  CHECK(v != NULL && strlen(v) >= 5);
  CHECK(v == mfp_oauth_version());
}

TEST(status_names) {
  CHECK_STR(mfp_oauth_status_str(MFP_OAUTH_STATUS_OK), "MFP_OAUTH_STATUS_OK");
  CHECK_STR(mfp_oauth_status_str(1), "MFP_OAUTH_STATUS_NULL_PARAMETER");
  CHECK_STR(mfp_oauth_status_str(101), "MFP_OAUTH_STATUS_BUFFER_TOO_SMALL");
  CHECK_STR(mfp_oauth_status_str(305), "MFP_OAUTH_STATUS_SMTP_AUTH_DISABLED");
  CHECK_STR(mfp_oauth_status_str(206), "MFP_OAUTH_STATUS_OAUTH_OFF");
  /* Any integer is safe to pass. */
  CHECK_STR(mfp_oauth_status_str(3), "MFP_OAUTH_STATUS_UNKNOWN");
  CHECK_STR(mfp_oauth_status_str(999), "MFP_OAUTH_STATUS_UNKNOWN");
  CHECK_STR(mfp_oauth_status_str(UINT32_MAX), "MFP_OAUTH_STATUS_UNKNOWN");
  /* The diagnostic's number and the status's number are one number. */
  CHECK(MFP_OAUTH_STATUS_SMTP_AUTH_DISABLED == 305);
  CHECK(MFP_OAUTH_STATUS_VLAN_ON_NETWORK2 == 201);
}

TEST(message_in_english_and_french) {
  char en[256], fr[256];
  size_t en_len = 0, fr_len = 0;
  CHECK_OK(mfp_oauth_diag_message(305, MFP_OAUTH_LANG_EN, en, sizeof en, &en_len));
  CHECK_OK(mfp_oauth_diag_message(305, MFP_OAUTH_LANG_FR, fr, sizeof fr, &fr_len));
  CHECK(en_len == strlen(en));
  CHECK(fr_len == strlen(fr));
  CHECK(strcmp(en, fr) != 0);
  CHECK(strstr(en, "SMTP") != NULL);
}

TEST(remedy_names_the_admin_center_setting) {
  /* R-DIAG: 535 5.7.139 -> E305 -> where "Authenticated SMTP" is switched on. */
  char buf[512];
  size_t n = 0;
  CHECK_OK(mfp_oauth_diag_remedy(MFP_OAUTH_STATUS_SMTP_AUTH_DISABLED, MFP_OAUTH_LANG_EN,
                                 buf, sizeof buf, &n));
  CHECK(strstr(buf, "Authenticated SMTP") != NULL);
  CHECK_OK(mfp_oauth_diag_remedy(305, MFP_OAUTH_LANG_FR, buf, sizeof buf, &n));
  CHECK(strstr(buf, "SMTP authentifi") != NULL);
}

TEST(name_and_actor) {
  char buf[64];
  size_t n = 0;
  mfp_oauth_actor actor = 0;
  CHECK_OK(mfp_oauth_diag_name(305, buf, sizeof buf, &n));
  CHECK_STR(buf, "SmtpAuthDisabled");
  CHECK(n == strlen("SmtpAuthDisabled"));
  CHECK_OK(mfp_oauth_diag_actor(305, &actor));
  CHECK(actor == MFP_OAUTH_ACTOR_MAIL_SERVER);
  CHECK_OK(mfp_oauth_diag_actor(201, &actor));
  CHECK(actor == MFP_OAUTH_ACTOR_ADMINISTRATOR);
}

TEST(short_buffer_reports_the_size_needed_and_writes_nothing) {
  char full[256];
  size_t full_len = 0;
  CHECK_OK(mfp_oauth_diag_message(305, MFP_OAUTH_LANG_FR, full, sizeof full, &full_len));

  char small[8];
  memset(small, 'X', sizeof small);
  size_t needed = 0;
  CHECK_STATUS(mfp_oauth_diag_message(305, MFP_OAUTH_LANG_FR, small, sizeof small, &needed),
               MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  CHECK(needed == full_len + 1);
  for (size_t i = 0; i < sizeof small; i++) CHECK(small[i] == 'X');

  /* A zero-length buffer is merely too small. */
  needed = 0;
  CHECK_STATUS(mfp_oauth_diag_name(305, small, 0, &needed), MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  CHECK(needed == strlen("SmtpAuthDisabled") + 1);

  /* Exactly the size needed fits, NUL included; one less does not. */
  char *exact = malloc(full_len + 1);
  CHECK(exact != NULL);
  if (exact == NULL) return;
  size_t n = 0;
  CHECK_STATUS(mfp_oauth_diag_message(305, MFP_OAUTH_LANG_FR, exact, full_len, &n),
               MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  CHECK_OK(mfp_oauth_diag_message(305, MFP_OAUTH_LANG_FR, exact, full_len + 1, &n));
  CHECK(n == full_len);
  CHECK_STR(exact, full);
  free(exact);
}

TEST(null_pointers_are_errors_and_outputs_stay_untouched) {
  char buf[64];
  size_t n = 12345;
  mfp_oauth_actor actor = 77;
  size_t count = 777;
  uint32_t id = 555;
  CHECK_STATUS(mfp_oauth_diag_message(305, 0, NULL, 64, &n), MFP_OAUTH_STATUS_NULL_PARAMETER);
  CHECK_STATUS(mfp_oauth_diag_message(305, 0, buf, sizeof buf, NULL),
               MFP_OAUTH_STATUS_NULL_PARAMETER);
  CHECK_STATUS(mfp_oauth_diag_remedy(305, 0, NULL, 0, NULL), MFP_OAUTH_STATUS_NULL_PARAMETER);
  CHECK_STATUS(mfp_oauth_diag_name(305, NULL, 64, &n), MFP_OAUTH_STATUS_NULL_PARAMETER);
  CHECK(n == 12345);
  CHECK_STATUS(mfp_oauth_diag_actor(305, NULL), MFP_OAUTH_STATUS_NULL_PARAMETER);
  CHECK_STATUS(mfp_oauth_diag_count(NULL), MFP_OAUTH_STATUS_NULL_PARAMETER);
  CHECK_STATUS(mfp_oauth_diag_id(0, NULL), MFP_OAUTH_STATUS_NULL_PARAMETER);
  /* NULL is checked before the other arguments. */
  CHECK_STATUS(mfp_oauth_diag_message(0, 99, NULL, 0, NULL), MFP_OAUTH_STATUS_NULL_PARAMETER);
  (void)actor;
  (void)count;
  (void)id;
}

TEST(out_of_range_integers_are_invalid_arguments) {
  char buf[256];
  size_t n = 999;
  mfp_oauth_actor actor = 77;
  uint32_t id = 555;
  size_t count = 0;
  CHECK_STATUS(mfp_oauth_diag_message(305, 2, buf, sizeof buf, &n),
               MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(mfp_oauth_diag_message(305, UINT32_MAX, buf, sizeof buf, &n),
               MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(mfp_oauth_diag_message(3, 0, buf, sizeof buf, &n),
               MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(mfp_oauth_diag_message(999, 0, buf, sizeof buf, &n),
               MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  /* 65536 + 305 must not wrap around to 305. */
  CHECK_STATUS(mfp_oauth_diag_message(65536u + 305u, 0, buf, sizeof buf, &n),
               MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(mfp_oauth_diag_remedy(UINT32_MAX, 0, buf, sizeof buf, &n),
               MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK(n == 999);
  /* Success has texts but no actor: nobody has to act. */
  CHECK_STATUS(mfp_oauth_diag_actor(0, &actor), MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(mfp_oauth_diag_actor(3, &actor), MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK(actor == 77);
  CHECK_OK(mfp_oauth_diag_count(&count));
  CHECK_STATUS(mfp_oauth_diag_id(count, &id), MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(mfp_oauth_diag_id(SIZE_MAX, &id), MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK(id == 555);
}

TEST(whole_catalogue_is_complete_and_consistent) {
  size_t count = 0;
  CHECK_OK(mfp_oauth_diag_count(&count));
  CHECK(count >= 90);
  uint32_t last = 0;
  for (size_t i = 0; i < count; i++) {
    uint32_t id = 0;
    char en[256], fr[256], fix[512], name[64];
    size_t n = 0;
    mfp_oauth_actor actor = 0;
    CHECK_OK(mfp_oauth_diag_id(i, &id));
    CHECK(id > last);
    last = id;
    CHECK_OK(mfp_oauth_diag_message(id, MFP_OAUTH_LANG_EN, en, sizeof en, &n));
    CHECK_OK(mfp_oauth_diag_message(id, MFP_OAUTH_LANG_FR, fr, sizeof fr, &n));
    CHECK(strcmp(en, fr) != 0);
    CHECK_OK(mfp_oauth_diag_remedy(id, MFP_OAUTH_LANG_EN, fix, sizeof fix, &n));
    CHECK_OK(mfp_oauth_diag_remedy(id, MFP_OAUTH_LANG_FR, fix, sizeof fix, &n));
    CHECK_OK(mfp_oauth_diag_name(id, name, sizeof name, &n));
    CHECK_OK(mfp_oauth_diag_actor(id, &actor));
    CHECK(actor == id / 100);
    /* Every diagnostic is a status with a name. */
    CHECK(strcmp(mfp_oauth_status_str(id), "MFP_OAUTH_STATUS_UNKNOWN") != 0);
  }
}

/* Trap 6 of issue 16: every status has a text, not only the diagnostics:
 * diag_message(1) (NULL_PARAMETER) used to fail. */
TEST(every_status_has_a_message_a_remedy_and_a_name) {
  int statuses = 0;
  for (uint32_t st = 0; st <= 1000; st++) {
    if (strcmp(mfp_oauth_status_str(st), "MFP_OAUTH_STATUS_UNKNOWN") == 0) continue;
    statuses++;
    char en[256], fr[256], fix[512], name[64];
    size_t n = 0;
    CHECK_OK(mfp_oauth_diag_message(st, MFP_OAUTH_LANG_EN, en, sizeof en, &n));
    CHECK_OK(mfp_oauth_diag_message(st, MFP_OAUTH_LANG_FR, fr, sizeof fr, &n));
    CHECK(strcmp(en, fr) != 0);
    CHECK_OK(mfp_oauth_diag_remedy(st, MFP_OAUTH_LANG_EN, fix, sizeof fix, &n));
    CHECK_OK(mfp_oauth_diag_remedy(st, MFP_OAUTH_LANG_FR, fix, sizeof fix, &n));
    CHECK_OK(mfp_oauth_diag_name(st, name, sizeof name, &n));
  }
  CHECK(statuses >= 93);
  char msg[256];
  size_t n = 0;
  mfp_oauth_actor actor = 0;
  CHECK_OK(mfp_oauth_diag_message(MFP_OAUTH_STATUS_NULL_PARAMETER, MFP_OAUTH_LANG_EN, msg, sizeof msg, &n));
  CHECK(strstr(msg, "NULL") != NULL);
  CHECK_OK(mfp_oauth_diag_name(MFP_OAUTH_STATUS_NULL_PARAMETER, msg, sizeof msg, &n));
  CHECK_STR(msg, "NullParameter");
  CHECK_OK(mfp_oauth_diag_actor(MFP_OAUTH_STATUS_NULL_PARAMETER, &actor));
  CHECK(actor == MFP_OAUTH_ACTOR_FIRMWARE);
  CHECK_OK(mfp_oauth_diag_message(MFP_OAUTH_STATUS_OK, MFP_OAUTH_LANG_FR, msg, sizeof msg, &n));
}

static const test_case cases[] = {
    CASE(version_is_a_static_string),
    CASE(status_names),
    CASE(message_in_english_and_french),
    CASE(remedy_names_the_admin_center_setting),
    CASE(name_and_actor),
    CASE(short_buffer_reports_the_size_needed_and_writes_nothing),
    CASE(null_pointers_are_errors_and_outputs_stay_untouched),
    CASE(out_of_range_integers_are_invalid_arguments),
    CASE(whole_catalogue_is_complete_and_consistent),
    CASE(every_status_has_a_message_a_remedy_and_a_name),
};

int main(void) { return RUN_CASES("diag", cases); }

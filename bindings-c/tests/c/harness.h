/* A tiny test harness for the C API tests: TEST functions registered in a
 * table, CHECK macros that record the failing line and go on, one closing
 * line "<suite>: N passed, M failed" counting test cases. */
#ifndef MFP_OAUTH_TEST_HARNESS_H
#define MFP_OAUTH_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>

#include "mfp_oauth.h"

static int harness_case_failed;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      harness_case_failed = 1;                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
    }                                                                            \
  } while (0)

/* The call's status must be `expected`; prints both names otherwise. */
#define CHECK_STATUS(call, expected)                                             \
  do {                                                                           \
    mfp_oauth_status got_ = (call);                                              \
    if (got_ != (mfp_oauth_status)(expected)) {                                  \
      harness_case_failed = 1;                                                   \
      fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__,          \
              __LINE__, #call, mfp_oauth_status_str(got_),                       \
              mfp_oauth_status_str(expected));                                   \
    }                                                                            \
  } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, MFP_OAUTH_STATUS_OK)

#define CHECK_STR(actual, expected)                                              \
  do {                                                                           \
    const char *a_ = (actual), *e_ = (expected);                                 \
    if (a_ == NULL || strcmp(a_, e_) != 0) {                                     \
      harness_case_failed = 1;                                                   \
      fprintf(stderr, "%s:%d: got \"%s\", expected \"%s\"\n", __FILE__,          \
              __LINE__, a_ ? a_ : "(null)", e_);                                 \
    }                                                                            \
  } while (0)

typedef struct {
  const char *name;
  void (*fn)(void);
} test_case;

#define TEST(name) static void name(void)
#define CASE(name) { #name, name }

/* Runs every case, prints one line per failure and the closing count. */
static int run_cases(const char *suite, const test_case *cases, size_t n) {
  int passed = 0, failed = 0;
  for (size_t i = 0; i < n; i++) {
    harness_case_failed = 0;
    cases[i].fn();
    if (harness_case_failed) {
      failed++;
      fprintf(stderr, "FAIL %s.%s\n", suite, cases[i].name);
    } else {
      passed++;
    }
  }
  printf("%s: %d passed, %d failed\n", suite, passed, failed);
  return failed == 0 ? 0 : 1;
}

#define RUN_CASES(suite, cases) run_cases(suite, cases, sizeof(cases) / sizeof(cases[0]))

#endif

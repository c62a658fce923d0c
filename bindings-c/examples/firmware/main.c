/* A printer's day on a Cortex-M4F, through the C API only (R-BARE, R-FFI).
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

extern uint32_t _stack_bottom[];
#define PAINT 0xA5C3F00Du

static inline uintptr_t current_sp(void) {
  uintptr_t sp;
  __asm volatile("mov %0, sp" : "=r"(sp));
  return sp;
}

/* Paints from the bottom of the stack up to a little below the caller's
 * frame. Not inlined, so that its own frame is below the caller's. */
__attribute__((noinline)) static void paint_stack(void) {
  uint32_t *top = (uint32_t *)(current_sp() - 64);
  for (volatile uint32_t *p = _stack_bottom; p < top; p++) *p = PAINT;
}

/* Calls `fn` on a painted stack and prints how deep it went, in bytes from
 * the caller's stack pointer (the C wrapper's own small frame included). */
__attribute__((noinline)) static void measure_stack(const char *entry, void (*fn)(void)) {
  paint_stack();
  uintptr_t sp = current_sp();
  fn();
  const uint32_t *p = _stack_bottom;
  while (*p == PAINT) p++;
  printf("stack: %s %u\n", entry, (unsigned)(sp - (uintptr_t)p));
}

/* ---- the day ------------------------------------------------------------- */

static char panel[256];
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
    CHECK_OK(mfp_oauth_diag_id_at(i, &id));
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

int main(void) {
  morning_self_check();
  printf("firmware checks: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

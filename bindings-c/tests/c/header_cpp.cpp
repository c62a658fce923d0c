// The header compiles as C++ and links with C++ callers (extern "C").
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "mfp_oauth.h"

static_assert(sizeof(mfp_oauth_status) == 4, "status is 32-bit");
static_assert(std::is_same<std::underlying_type<mfp_oauth_status>::type, uint32_t>::value,
              "status has uint32_t storage");

int main() {
  int failed = 0;
  if (std::strcmp(mfp_oauth_status_str(MFP_OAUTH_STATUS_WRONG_STATE),
                  "MFP_OAUTH_STATUS_WRONG_STATE") != 0) {
    failed++;
  }
  char buf[256];
  size_t n = 0;
  if (mfp_oauth_diag_message(MFP_OAUTH_STATUS_WRONG_STATE, MFP_OAUTH_LANG_EN, buf, sizeof buf,
                             &n) != MFP_OAUTH_STATUS_OK) {
    failed++;
  }
  std::printf("cpp: %d passed, %d failed\n", failed ? 0 : 1, failed ? 1 : 0);
  return failed;
}

/* C tests of the QR code bitmap for the panel (R-QR, R-FFI): a device
 * sign-in's URI drawn as the firmware would, and every misuse. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

static uint8_t work[MFP_OAUTH_QR_WORK_LEN];
static uint8_t bitmap[MFP_OAUTH_QR_BITMAP_LEN];

static int dark(const uint8_t *bmp, uint32_t size, uint32_t x, uint32_t y) {
  uint32_t stride = (size + 7) / 8;
  return (bmp[y * stride + x / 8] >> (7 - x % 8)) & 1;
}

/* The 7x7 finder pattern at (x0, y0): dark ring, light ring, dark centre. */
static int finder_at(const uint8_t *bmp, uint32_t size, uint32_t x0, uint32_t y0) {
  for (uint32_t dy = 0; dy < 7; dy++) {
    for (uint32_t dx = 0; dx < 7; dx++) {
      int ring = dx == 0 || dy == 0 || dx == 6 || dy == 6;
      int centre = dx >= 2 && dx <= 4 && dy >= 2 && dy <= 4;
      if (dark(bmp, size, x0 + dx, y0 + dy) != (ring || centre)) return 0;
    }
  }
  return 1;
}

TEST(device_uri_becomes_a_bitmap_with_three_finders) {
  const char *uri = "https://microsoft.com/devicelogin";
  uint32_t size = 0;
  size_t len = 0;
  CHECK_OK(mfp_oauth_qr_encode((const uint8_t *)uri, strlen(uri), work, sizeof work, bitmap,
                               sizeof bitmap, &size, &len));
  CHECK(size == 29);
  CHECK(len == 29 * 4);
  CHECK(finder_at(bitmap, size, 0, 0));
  CHECK(finder_at(bitmap, size, size - 7, 0));
  CHECK(finder_at(bitmap, size, 0, size - 7));
  /* The three padding bits of each row's last octet are 0. */
  for (uint32_t y = 0; y < size; y++) CHECK((bitmap[y * 4 + 3] & 0x07) == 0);
}

TEST(the_longest_uri_fits_the_documented_buffers) {
  char uri[513];
  memset(uri, 'a', 512);
  memcpy(uri, "https://login.example/device?code=", 34);
  uri[512] = 0;
  uint32_t size = 0;
  size_t len = 0;
  CHECK_OK(mfp_oauth_qr_encode((const uint8_t *)uri, 512, work, sizeof work, bitmap, sizeof bitmap,
                               &size, &len));
  CHECK(size > 29 && size <= 89);
  CHECK(len == size * ((size + 7) / 8));
  CHECK(len <= MFP_OAUTH_QR_BITMAP_LEN);
}

TEST(misuse_is_a_status) {
  const char *uri = "https://www.google.com/device";
  uint32_t size = 7;
  size_t len = 0;
  CHECK_STATUS(mfp_oauth_qr_encode(NULL, 3, work, sizeof work, bitmap, sizeof bitmap, &size, &len),
               MFP_OAUTH_STATUS_NULL_PARAMETER);
  CHECK_STATUS(mfp_oauth_qr_encode((const uint8_t *)uri, strlen(uri), NULL, sizeof work, bitmap,
                                   sizeof bitmap, &size, &len),
               MFP_OAUTH_STATUS_NULL_PARAMETER);
  CHECK_STATUS(mfp_oauth_qr_encode((const uint8_t *)uri, strlen(uri), work, sizeof work, bitmap,
                                   sizeof bitmap, NULL, &len),
               MFP_OAUTH_STATUS_NULL_PARAMETER);
  /* A short work area: the size needed, nothing else written. */
  CHECK_STATUS(mfp_oauth_qr_encode((const uint8_t *)uri, strlen(uri), work, sizeof work - 1,
                                   bitmap, sizeof bitmap, &size, &len),
               MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  CHECK(len == MFP_OAUTH_QR_WORK_LEN);
  CHECK(size == 7);
  /* A short bitmap: the octets needed. */
  CHECK_STATUS(mfp_oauth_qr_encode((const uint8_t *)uri, strlen(uri), work, sizeof work, bitmap,
                                   10, &size, &len),
               MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  CHECK(len == 29 * 4 || len == 25 * 4);
  CHECK(size == 7);
  /* Not UTF-8, and too long for the largest code. */
  const uint8_t bad[] = {'h', 0xff, 't'};
  CHECK_STATUS(mfp_oauth_qr_encode(bad, sizeof bad, work, sizeof work, bitmap, sizeof bitmap,
                                   &size, &len),
               MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  static char huge[1000];
  memset(huge, 'x', sizeof huge);
  CHECK_STATUS(mfp_oauth_qr_encode((const uint8_t *)huge, sizeof huge, work, sizeof work, bitmap,
                                   sizeof bitmap, &size, &len),
               MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  /* The empty text (NULL, 0) is a valid, smallest code. */
  CHECK_OK(mfp_oauth_qr_encode(NULL, 0, work, sizeof work, bitmap, sizeof bitmap, &size, &len));
  CHECK(size == 21);
}

static const test_case cases[] = {
    CASE(device_uri_becomes_a_bitmap_with_three_finders),
    CASE(the_longest_uri_fits_the_documented_buffers),
    CASE(misuse_is_a_status),
};

int main(void) { return RUN_CASES("qr", cases); }

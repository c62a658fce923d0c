/* C tests of the message composer (R-MIME, R-FFI): a scan with two files
 * composed as a firmware would (small output buffer, files pushed when
 * asked), its size known before the first octet, its structure, and the
 * misuses. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

#define FILE_A_LEN 1000
#define FILE_B_LEN 5003
#define MSG_CAP 16384

static uint8_t file_a[FILE_A_LEN];
static uint8_t file_b[FILE_B_LEN];
static char message[MSG_CAP];
static const uint8_t random_octets[MFP_OAUTH_MIME_RANDOM_LEN] = {1, 2, 3, 4, 5, 6,
                                                                 7, 8, 9, 10, 11, 0xff};

static mfp_oauth_str str(const char *s) {
  mfp_oauth_str r = {s, strlen(s)};
  return r;
}

static void fill(uint8_t *p, size_t n, uint32_t x) {
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = (uint8_t)x;
  }
}

/* Composes `msg` with the files `files[i]` of `lens[i]` octets (which may
 * differ from the announced lengths) into `message`: output in pieces of
 * `out_step` octets, input in pieces of at most `in_step`. Returns the
 * first failing status; `*produced` is the octets produced. */
static mfp_oauth_status compose(const mfp_oauth_mime_message *msg, const uint8_t *const *files,
                                const size_t *lens, size_t out_step, size_t in_step,
                                uint64_t *size, size_t *produced) {
  static mfp_oauth_mime mime;
  size_t pos[4] = {0, 0, 0, 0};
  mfp_oauth_status st = mfp_oauth_mime_begin(&mime, msg, 1795516072u, random_octets, size);
  *produced = 0;
  if (st != MFP_OAUTH_STATUS_OK) return st;
  uint64_t again = 0;
  CHECK_OK(mfp_oauth_mime_size(&mime, &again));
  CHECK(again == *size);
  for (;;) {
    mfp_oauth_mime_output r;
    uint8_t out[256];
    st = mfp_oauth_mime_poll_output(&mime, out, out_step, &r);
    if (st != MFP_OAUTH_STATUS_OK) break;
    if (r.kind == MFP_OAUTH_MIME_OUTPUT_KIND_WROTE) {
      CHECK(r.written > 0 && r.written <= out_step);
      if (*produced + r.written <= MSG_CAP) memcpy(message + *produced, out, r.written);
      *produced += r.written;
    } else if (r.kind == MFP_OAUTH_MIME_OUTPUT_KIND_NEED_INPUT) {
      CHECK(r.part < 4 && r.max > 0 && r.max <= MFP_OAUTH_MIME_INPUT_BUF_LEN);
      size_t left = lens[r.part] - pos[r.part];
      size_t n = left < in_step ? left : in_step;
      if (n > r.max) n = r.max;
      size_t taken = 0;
      st = mfp_oauth_mime_handle_input(&mime, files[r.part] + pos[r.part], n, &taken);
      if (st != MFP_OAUTH_STATUS_OK) break;
      CHECK(taken == n);
      pos[r.part] += taken;
    } else {
      CHECK(r.kind == MFP_OAUTH_MIME_OUTPUT_KIND_DONE);
      break;
    }
  }
  CHECK_OK(mfp_oauth_mime_destroy(&mime));
  return st;
}

static size_t count(const char *hay, size_t len, const char *needle) {
  size_t n = 0, k = strlen(needle);
  for (size_t i = 0; i + k <= len; i++) {
    if (memcmp(hay + i, needle, k) == 0) n++;
  }
  return n;
}

static int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Decodes the base64 lines from `p` up to the next "\r\n--" into `dst`;
 * returns the octets decoded, or (size_t)-1 on a character outside the
 * alphabet or a line above 76 characters. */
static size_t b64_decode_part(const char *p, const char *end, uint8_t *dst, size_t cap) {
  const char *stop = p;
  while (stop + 4 <= end && memcmp(stop, "\r\n--", 4) != 0) stop++;
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0, col = 0;
  for (; p < stop; p++) {
    if (*p == '\r' || *p == '\n') {
      if (*p == '\n') col = 0;
      continue;
    }
    if (++col > 76) return (size_t)-1;
    if (*p == '=') continue;
    int v = b64_value(*p);
    if (v < 0) return (size_t)-1;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < cap) dst[n] = (uint8_t)(acc >> bits);
      n++;
    }
  }
  return n;
}

/* The body of the part whose header holds `marker`. */
static size_t part_body(const char *msg, size_t len, const char *marker, uint8_t *dst,
                        size_t cap) {
  const char *end = msg + len;
  const char *at = NULL;
  size_t k = strlen(marker);
  for (const char *p = msg; p + k <= end; p++) {
    if (memcmp(p, marker, k) == 0) {
      at = p;
      break;
    }
  }
  if (at == NULL) return (size_t)-1;
  while (at + 4 <= end && memcmp(at, "\r\n\r\n", 4) != 0) at++;
  return b64_decode_part(at + 4, end, dst, cap);
}

static mfp_oauth_str to_list[2];
static mfp_oauth_mime_attachment atts[2];

static mfp_oauth_mime_message scan_message(void) {
  to_list[0] = str("a@x.test");
  to_list[1] = str("b@x.test");
  atts[0].name = str("scan-0001.pdf");
  atts[0].content_type = str("");
  atts[0].len = FILE_A_LEN;
  atts[1].name = str("relev\xc3\xa9 \xc3\xa9t\xc3\xa9.png");
  atts[1].content_type = str("image/png");
  atts[1].len = FILE_B_LEN;
  mfp_oauth_mime_message m;
  memset(&m, 0, sizeof m);
  m.from = str("scanner@contoso.test");
  m.to = to_list;
  m.to_count = 2;
  m.subject = str("Num\xc3\xa9risation du 24 novembre");
  m.text = str("Two files attached.\n.\nA line with only a dot, above.");
  m.attachments = atts;
  m.attachment_count = 2;
  m.message_id_local = str("job-42");
  return m;
}

TEST(two_files_make_a_message_of_the_announced_size) {
  fill(file_a, FILE_A_LEN, 1);
  fill(file_b, FILE_B_LEN, 2);
  mfp_oauth_mime_message m = scan_message();
  const uint8_t *files[2] = {file_a, file_b};
  size_t lens[2] = {FILE_A_LEN, FILE_B_LEN};
  uint64_t size = 0;
  size_t produced = 0;
  CHECK_OK(compose(&m, files, lens, 100, 300, &size, &produced));
  CHECK(size == produced);
  CHECK(produced < MSG_CAP);
  if (produced >= MSG_CAP) return;

  /* Any other piece sizes give the same octets. */
  static char first[MSG_CAP];
  memcpy(first, message, produced);
  size_t steps[][2] = {{1, 1}, {7, 1000}, {77, 456}, {256, 57}};
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    uint64_t s2 = 0;
    size_t p2 = 0;
    CHECK_OK(compose(&m, files, lens, steps[i][0], steps[i][1], &s2, &p2));
    CHECK(s2 == size && p2 == produced);
    CHECK(memcmp(first, message, produced) == 0);
  }

  /* The header. */
  CHECK(memcmp(message, "Date: Tue, 24 Nov 2026 10:27:52 +0000\r\n", 39) == 0);
  CHECK(count(message, produced, "\r\nFrom: <scanner@contoso.test>\r\n") == 1);
  CHECK(count(message, produced, "\r\nTo: <a@x.test>, <b@x.test>\r\n") == 1);
  CHECK(count(message, produced, "\r\nSubject: =?UTF-8?B?") == 1);
  CHECK(count(message, produced, "\r\nMessage-ID: <job-42@contoso.test>\r\n") == 1);
  CHECK(count(message, produced, "\r\nMIME-Version: 1.0\r\n") == 1);
  CHECK(count(message, produced, "boundary=\"=_mfp_0102030405060708090a0bff\"") == 1);
  /* Three delimiters (text, two files) and the close. */
  CHECK(count(message, produced, "\r\n--=_mfp_0102030405060708090a0bff\r\n") == 3);
  CHECK(count(message, produced, "\r\n--=_mfp_0102030405060708090a0bff--\r\n") == 1);
  CHECK(memcmp(message + produced - 4, "--\r\n", 4) == 0);
  CHECK(count(message, produced, "Content-Type: application/pdf;\r\n name=\"scan-0001.pdf\"") ==
        1);
  CHECK(count(message, produced, "Content-Type: image/png;\r\n name*0*=utf-8''relev%C3%A9%20") ==
        1);
  CHECK(count(message, produced, " filename*0*=utf-8''relev%C3%A9%20%C3%A9t%C3%A9.png") == 1);
  CHECK(count(message, produced, "Content-Transfer-Encoding: base64\r\n") == 3);

  /* Canonical: CRLF only, lines of at most 78, none starting with a dot. */
  size_t line = 0;
  for (size_t i = 0; i < produced; i++) {
    if (message[i] == '\r') {
      CHECK(i + 1 < produced && message[i + 1] == '\n');
      CHECK(line <= 78);
      line = 0;
      i++;
      if (i + 1 < produced) CHECK(message[i + 1] != '.');
      continue;
    }
    CHECK(message[i] != '\n');
    CHECK((unsigned char)message[i] < 0x80);
    line++;
  }

  /* The parts decode to the text (CRLF line ends) and to the files. */
  static uint8_t got[FILE_B_LEN + 8];
  const char *text = "Two files attached.\r\n.\r\nA line with only a dot, above.";
  size_t n = part_body(message, produced, "text/plain", got, sizeof got);
  CHECK(n == strlen(text));
  CHECK(n == strlen(text) && memcmp(got, text, n) == 0);
  n = part_body(message, produced, "scan-0001.pdf", got, sizeof got);
  CHECK(n == FILE_A_LEN && memcmp(got, file_a, FILE_A_LEN) == 0);
  n = part_body(message, produced, "image/png", got, sizeof got);
  CHECK(n == FILE_B_LEN && memcmp(got, file_b, FILE_B_LEN) == 0);
}

TEST(a_file_of_another_length_fails_the_composer) {
  mfp_oauth_mime_message m = scan_message();
  const uint8_t *files[2] = {file_a, file_b};
  uint64_t size = 0;
  size_t produced = 0;
  size_t shorter[2] = {FILE_A_LEN - 1, FILE_B_LEN};
  CHECK_STATUS(compose(&m, files, shorter, 100, 300, &size, &produced),
               MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK(produced < size);
  size_t longer[2] = {FILE_A_LEN, FILE_B_LEN + 1};
  CHECK_STATUS(compose(&m, files, longer, 100, 300, &size, &produced),
               MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK(produced < size);

  /* Once failed, it stays failed. */
  mfp_oauth_mime mime;
  mfp_oauth_mime_output r;
  uint8_t out[64];
  size_t taken = 0;
  CHECK_OK(mfp_oauth_mime_begin(&mime, &m, 0, random_octets, &size));
  do {
    CHECK_OK(mfp_oauth_mime_poll_output(&mime, out, sizeof out, &r));
  } while (r.kind == MFP_OAUTH_MIME_OUTPUT_KIND_WROTE);
  CHECK(r.kind == MFP_OAUTH_MIME_OUTPUT_KIND_NEED_INPUT && r.part == 0);
  CHECK_STATUS(mfp_oauth_mime_handle_input(&mime, NULL, 0, &taken),
               MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(mfp_oauth_mime_poll_output(&mime, out, sizeof out, &r),
               MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK_OK(mfp_oauth_mime_destroy(&mime));
}

TEST(misuse_is_a_status) {
  mfp_oauth_mime mime;
  memset(&mime, 0, sizeof mime);
  mfp_oauth_mime_message m = scan_message();
  mfp_oauth_mime_output r;
  uint8_t out[64];
  uint64_t size = 0;
  size_t taken = 0;
  CHECK_STATUS(mfp_oauth_mime_begin(NULL, &m, 0, random_octets, &size),
               MFP_OAUTH_STATUS_NULL_PARAMETER);
  CHECK_STATUS(mfp_oauth_mime_begin(&mime, NULL, 0, random_octets, &size),
               MFP_OAUTH_STATUS_NULL_PARAMETER);
  CHECK_STATUS(mfp_oauth_mime_begin(&mime, &m, 0, NULL, &size), MFP_OAUTH_STATUS_NULL_PARAMETER);
  /* Never created: a status, not undefined behaviour. */
  CHECK_STATUS(mfp_oauth_mime_poll_output(&mime, out, sizeof out, &r),
               MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_mime_size(&mime, &size), MFP_OAUTH_STATUS_WRONG_STATE);

  /* Bad messages: nothing is created. */
  mfp_oauth_mime_message bad = m;
  bad.from = str("not an address");
  CHECK_STATUS(mfp_oauth_mime_begin(&mime, &bad, 0, random_octets, &size),
               MFP_OAUTH_STATUS_INVALID_ADDRESS);
  CHECK_STATUS(mfp_oauth_mime_size(&mime, &size), MFP_OAUTH_STATUS_WRONG_STATE);
  bad = m;
  bad.to_count = MFP_OAUTH_MIME_MAX_TO + 1;
  CHECK_STATUS(mfp_oauth_mime_begin(&mime, &bad, 0, random_octets, &size),
               MFP_OAUTH_STATUS_CAPACITY_EXCEEDED);
  bad = m;
  bad.subject.ptr = "\xff";
  bad.subject.len = 1;
  CHECK_STATUS(mfp_oauth_mime_begin(&mime, &bad, 0, random_octets, &size),
               MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  bad = m;
  bad.attachments = NULL;
  CHECK_STATUS(mfp_oauth_mime_begin(&mime, &bad, 0, random_octets, &size),
               MFP_OAUTH_STATUS_NULL_PARAMETER);

  /* Input while the header is produced; an empty output buffer. */
  CHECK_OK(mfp_oauth_mime_begin(&mime, &m, 0, random_octets, &size));
  CHECK_STATUS(mfp_oauth_mime_handle_input(&mime, file_a, 10, &taken),
               MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_mime_poll_output(&mime, out, 0, &r), MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  CHECK_STATUS(mfp_oauth_mime_poll_output(&mime, out, sizeof out, NULL),
               MFP_OAUTH_STATUS_NULL_PARAMETER);
  /* Without a date there is no Date field. */
  CHECK_OK(mfp_oauth_mime_poll_output(&mime, out, sizeof out, &r));
  CHECK(r.kind == MFP_OAUTH_MIME_OUTPUT_KIND_WROTE && memcmp(out, "From: <", 7) == 0);
  CHECK_OK(mfp_oauth_mime_destroy(&mime));
  CHECK_OK(mfp_oauth_mime_destroy(&mime));
  CHECK_STATUS(mfp_oauth_mime_poll_output(&mime, out, sizeof out, &r),
               MFP_OAUTH_STATUS_WRONG_STATE);
}

static const test_case cases[] = {
    CASE(two_files_make_a_message_of_the_announced_size),
    CASE(a_file_of_another_length_fails_the_composer),
    CASE(misuse_is_a_status),
};

int main(void) { return RUN_CASES("mime", cases); }

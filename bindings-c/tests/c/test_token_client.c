/* C tests of the token-endpoint client (R-FFI, R-OAUTH): the RFC 8628
 * device flow with the RFC's vectors on simulated time (pending, slow_down,
 * success), the PKCE authorize URL, refresh errors, and every misuse. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

#define S(lit) ((mfp_oauth_str){(lit), sizeof(lit) - 1})

static const char DEVICE_JSON[] =
    "{\"device_code\":\"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS\",\"user_code\":\"WDJB-MJHT\","
    "\"verification_uri\":\"https://example.com/device\",\"verification_uri_complete\":"
    "\"https://example.com/device?user_code=WDJB-MJHT\",\"expires_in\":1800,\"interval\":5}";
static const char TOKEN_JSON[] =
    "{\"access_token\":\"2YotnFZFEjr1zCsicMWpAA\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
    "\"refresh_token\":\"tGzv3JOkF0XG5Qx2TlKWIA\",\"example_parameter\":\"example_value\"}";

static mfp_oauth_settings rfc_settings(void) {
  mfp_oauth_settings s;
  mfp_oauth_settings_init(&s);
  s.provider = MFP_OAUTH_PROVIDER_CUSTOM;
  s.client_id = S("1406020730");
  s.custom_token_url = S("https://server.example.com/token");
  s.custom_device_url = S("https://server.example.com/device_authorization");
  s.custom_authorize_url = S("https://server.example.com/authorize");
  s.custom_scope = S("example_scope");
  return s;
}

static char request[8192];
static size_t request_len;

/* Takes the due request (checking its kind and endpoint), answers it with
 * `status` and `body` over HTTP/1.1, closes. */
static void exchange(mfp_oauth_token_client *c, uint64_t now, mfp_oauth_request_kind kind,
                     int status, const char *body) {
  size_t n = 0;
  bool sensitive = false;
  mfp_oauth_endpoint ep;
  CHECK_OK(mfp_oauth_token_client_poll_transmit(c, now, (uint8_t *)request, sizeof request - 1,
                                                &n, &sensitive, &ep));
  CHECK(n > 0);
  request_len = n;
  request[n] = 0;
  CHECK(ep.kind == kind);
  CHECK_STR(ep.host, "server.example.com");
  CHECK(ep.port == 443 && ep.tls);
  char response[2048];
  int len = snprintf(response, sizeof response,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     status, strlen(body), body);
  size_t used = 0;
  CHECK_OK(mfp_oauth_token_client_handle_input(c, now, (const uint8_t *)response, (size_t)len,
                                               &used));
  CHECK(used == (size_t)len);
  CHECK_OK(mfp_oauth_token_client_handle_close(c, now));
}

static mfp_oauth_token_event next_event(mfp_oauth_token_client *c) {
  mfp_oauth_token_event e;
  memset(&e, 0xEE, sizeof e);
  CHECK_OK(mfp_oauth_token_client_poll_event(c, &e));
  return e;
}

TEST(device_flow_with_the_rfc_vectors) {
  static mfp_oauth_token_client c;
  mfp_oauth_settings s = rfc_settings();
  CHECK_OK(mfp_oauth_token_client_create(&c, &s, 7));
  CHECK_OK(mfp_oauth_token_client_start_device(&c, 0));
  exchange(&c, 0, MFP_OAUTH_REQUEST_KIND_DEVICE_AUTHORIZATION, 200, DEVICE_JSON);
  CHECK(strncmp(request, "POST /device_authorization HTTP/1.1\r\nHost: server.example.com\r\n", 62) == 0);
  CHECK(strstr(request, "\r\n\r\nclient_id=1406020730&scope=example_scope") != NULL);
  CHECK(next_event(&c).kind == MFP_OAUTH_TOKEN_EVENT_KIND_USER_CODE);
  CHECK(next_event(&c).kind == MFP_OAUTH_TOKEN_EVENT_KIND_NONE);

  char code[33], uri[257];
  uint64_t expires_in = 0;
  CHECK_OK(mfp_oauth_token_client_device_code(&c, code, sizeof code, uri, sizeof uri, &expires_in));
  CHECK_STR(code, "WDJB-MJHT");
  CHECK_STR(uri, "https://example.com/device");
  CHECK(expires_in == 1800);
  char tiny[4];
  CHECK_STATUS(mfp_oauth_token_client_device_code(&c, tiny, sizeof tiny, uri, sizeof uri, &expires_in),
               MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);

  uint64_t deadline = 0;
  CHECK_OK(mfp_oauth_token_client_poll_timeout(&c, &deadline));
  CHECK(deadline == 5000);
  /* Not before the interval. */
  size_t n = 99;
  bool sensitive = false;
  mfp_oauth_endpoint ep;
  CHECK_OK(mfp_oauth_token_client_poll_transmit(&c, 4999, (uint8_t *)request, sizeof request, &n,
                                                &sensitive, &ep));
  CHECK(n == 0);

  exchange(&c, 5000, MFP_OAUTH_REQUEST_KIND_DEVICE_TOKEN, 400, "{\"error\":\"authorization_pending\"}");
  CHECK(strstr(request, "device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS") != NULL);
  CHECK(next_event(&c).kind == MFP_OAUTH_TOKEN_EVENT_KIND_NONE);
  exchange(&c, 10000, MFP_OAUTH_REQUEST_KIND_DEVICE_TOKEN, 400, "{\"error\":\"slow_down\"}");
  mfp_oauth_token_event e = next_event(&c);
  CHECK(e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_SLOW_DOWN && e.interval_ms == 10000);
  CHECK_OK(mfp_oauth_token_client_poll_timeout(&c, &deadline));
  CHECK(deadline == 20000);
  exchange(&c, 20000, MFP_OAUTH_REQUEST_KIND_DEVICE_TOKEN, 200, TOKEN_JSON);
  CHECK(next_event(&c).kind == MFP_OAUTH_TOKEN_EVENT_KIND_REFRESH_TOKEN_ROTATED);
  e = next_event(&c);
  CHECK(e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_ACCESS_TOKEN && e.expires_at_ms == 3620000);
  /* Never again after success. */
  CHECK_OK(mfp_oauth_token_client_poll_transmit(&c, 40000, (uint8_t *)request, sizeof request, &n,
                                                &sensitive, &ep));
  CHECK(n == 0);
  CHECK_OK(mfp_oauth_token_client_poll_timeout(&c, &deadline));
  CHECK(deadline == MFP_OAUTH_NO_DEADLINE);
  /* The tokens sit in the client until destroy wipes every byte. */
#ifdef __SANITIZE_ADDRESS__
  CHECK(memmem(&c, sizeof c, "tGzv3JOkF0XG5Qx2TlKWIA", 22) != NULL);
#endif
  CHECK_OK(mfp_oauth_token_client_destroy(&c));
  const unsigned char *b = (const unsigned char *)&c;
  size_t nonzero = 0;
  for (size_t i = 0; i < sizeof c; i++) nonzero += b[i] != 0;
  CHECK(nonzero == 0);
}

TEST(terminal_errors_are_events_with_diagnostics) {
  static mfp_oauth_token_client c;
  mfp_oauth_settings s = rfc_settings();
  CHECK_OK(mfp_oauth_token_client_create(&c, &s, 7));
  CHECK_OK(mfp_oauth_token_client_start_device(&c, 0));
  exchange(&c, 0, MFP_OAUTH_REQUEST_KIND_DEVICE_AUTHORIZATION, 200, DEVICE_JSON);
  CHECK(next_event(&c).kind == MFP_OAUTH_TOKEN_EVENT_KIND_USER_CODE);
  exchange(&c, 5000, MFP_OAUTH_REQUEST_KIND_DEVICE_TOKEN, 400, "{\"error\":\"access_denied\"}");
  mfp_oauth_token_event e = next_event(&c);
  CHECK(e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_FAILED);
  CHECK(e.diag == MFP_OAUTH_STATUS_AUTHORIZATION_DECLINED);
  char msg[256];
  size_t n = 0;
  CHECK_OK(mfp_oauth_diag_message(e.diag, MFP_OAUTH_LANG_FR, msg, sizeof msg, &n));
  CHECK(mfp_oauth_token_client_destroy(&c) == MFP_OAUTH_STATUS_OK);
}

/* Issue 15: the TLS stack found no version in common with the token
 * endpoint (E610). The client takes that diagnostic (not INVALID_ARGUMENT)
 * and fails at once with it: a setting to change, not worth a retry. */
TEST(no_tls_version_in_common_is_a_final_failure) {
  static mfp_oauth_token_client c;
  mfp_oauth_settings s = rfc_settings();
  CHECK_OK(mfp_oauth_token_client_create(&c, &s, 7));
  CHECK_OK(mfp_oauth_token_client_start_device(&c, 0));
  size_t n = 0;
  bool sensitive = false;
  mfp_oauth_endpoint ep;
  CHECK_OK(mfp_oauth_token_client_poll_transmit(&c, 0, (uint8_t *)request, sizeof request, &n,
                                                &sensitive, &ep));
  CHECK(n > 0);
  CHECK_OK(mfp_oauth_token_client_handle_transport_error(&c, 10,
                                                         MFP_OAUTH_STATUS_TLS_VERSION_MISMATCH));
  mfp_oauth_token_event e = next_event(&c);
  CHECK(e.kind == MFP_OAUTH_TOKEN_EVENT_KIND_FAILED);
  CHECK(e.diag == MFP_OAUTH_STATUS_TLS_VERSION_MISMATCH);
  CHECK(next_event(&c).kind == MFP_OAUTH_TOKEN_EVENT_KIND_NONE);
  /* No retry is scheduled. */
  CHECK_OK(mfp_oauth_token_client_poll_transmit(&c, 3600000, (uint8_t *)request, sizeof request,
                                                &n, &sensitive, &ep));
  CHECK(n == 0);
  CHECK_OK(mfp_oauth_token_client_destroy(&c));
}

TEST(pkce_authorize_url) {
  static mfp_oauth_token_client c;
  mfp_oauth_settings s = rfc_settings();
  CHECK_OK(mfp_oauth_token_client_create(&c, &s, 7));
  uint8_t random[48];
  for (int i = 0; i < 48; i++) random[i] = (uint8_t)i;
  CHECK_OK(mfp_oauth_token_client_start_auth_code(&c, 0, random, 8400, NULL, 0));
  char url[2048];
  size_t n = 0;
  CHECK_OK(mfp_oauth_token_client_authorize_url(&c, url, sizeof url, &n));
  CHECK(n == strlen(url));
  CHECK(strncmp(url, "https://server.example.com/authorize?", 37) == 0);
  CHECK(strstr(url, "code_challenge_method=S256") != NULL);
  CHECK(strstr(url, "redirect_uri=http%3A%2F%2F127.0.0.1%3A8400%2F") != NULL);
  char small[16];
  size_t needed = 0;
  CHECK_STATUS(mfp_oauth_token_client_authorize_url(&c, small, sizeof small, &needed),
               MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  CHECK(needed == n + 1);
  /* A redirect with another state is refused. */
  CHECK_STATUS(mfp_oauth_token_client_handle_redirect(&c, 10, (const uint8_t *)"/?code=x&state=nope", 19),
               MFP_OAUTH_STATUS_STATE_MISMATCH);
  CHECK_OK(mfp_oauth_token_client_destroy(&c));
}

TEST(misuse) {
  static mfp_oauth_token_client c;
  memset(&c, 0, sizeof c);
  mfp_oauth_settings s = rfc_settings();
  const mfp_oauth_status NP = MFP_OAUTH_STATUS_NULL_PARAMETER;
  mfp_oauth_token_event e;
  uint64_t d;
  size_t n;
  bool b;
  mfp_oauth_endpoint ep;
  uint8_t buf[64];
  CHECK_STATUS(mfp_oauth_token_client_create(NULL, &s, 0), NP);
  CHECK_STATUS(mfp_oauth_token_client_create(&c, NULL, 0), NP);
  CHECK_STATUS(mfp_oauth_token_client_poll_event(&c, &e), MFP_OAUTH_STATUS_WRONG_STATE);
  s.provider = 3;
  CHECK_STATUS(mfp_oauth_token_client_create(&c, &s, 0), MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  s = rfc_settings();
  s.client_id = (mfp_oauth_str){NULL, 0};
  CHECK(mfp_oauth_token_client_create(&c, &s, 0) != MFP_OAUTH_STATUS_OK);
  s = rfc_settings();
  s.custom_token_url = S("not a url");
  CHECK(mfp_oauth_token_client_create(&c, &s, 0) != MFP_OAUTH_STATUS_OK);
  /* A preset takes an endpoint override (a gateway, a test tenant): Google
   * with a device URL given uses it. */
  s = rfc_settings();
  s.provider = MFP_OAUTH_PROVIDER_GOOGLE;
  CHECK_OK(mfp_oauth_token_client_create(&c, &s, 0));
  CHECK_OK(mfp_oauth_token_client_start_device(&c, 0));
  /* Without one, Google has no device flow for the Gmail scope. */
  s.custom_device_url = (mfp_oauth_str){NULL, 0};
  CHECK_OK(mfp_oauth_token_client_create(&c, &s, 0));
  CHECK_STATUS(mfp_oauth_token_client_start_device(&c, 0), MFP_OAUTH_STATUS_DEVICE_FLOW_NOT_SUPPORTED);
  CHECK_STATUS(mfp_oauth_token_client_device_code(&c, (char *)buf, 33, (char *)buf, 33, &d),
               MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_token_client_authorize_url(&c, (char *)buf, sizeof buf, &n),
               MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_token_client_start_auth_code(&c, 0, NULL, 8400, NULL, 0), NP);
  CHECK_STATUS(mfp_oauth_token_client_poll_event(&c, NULL), NP);
  CHECK_STATUS(mfp_oauth_token_client_poll_timeout(&c, NULL), NP);
  CHECK_STATUS(mfp_oauth_token_client_poll_transmit(&c, 0, NULL, 8, &n, &b, &ep), NP);
  CHECK_STATUS(mfp_oauth_token_client_poll_transmit(&c, 0, buf, 8, NULL, &b, &ep), NP);
  CHECK_STATUS(mfp_oauth_token_client_poll_transmit(&c, 0, buf, 8, &n, NULL, &ep), NP);
  CHECK_STATUS(mfp_oauth_token_client_poll_transmit(&c, 0, buf, 8, &n, &b, NULL), NP);
  CHECK_STATUS(mfp_oauth_token_client_handle_input(&c, 0, NULL, 1, &n), NP);
  CHECK_STATUS(mfp_oauth_token_client_handle_input(&c, 0, buf, 1, NULL), NP);
  CHECK_STATUS(mfp_oauth_token_client_handle_redirect(&c, 0, NULL, 1), NP);
  CHECK_STATUS(mfp_oauth_token_client_handle_transport_error(&c, 0, 305),
               MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK_OK(mfp_oauth_token_client_handle_transport_error(&c, 0, MFP_OAUTH_STATUS_CONNECT_FAILED));
  /* Reconfigured in place: the custom provider's device flow works again;
   * a bad profile leaves the client as it was. */
  s = rfc_settings();
  s.provider = 7;
  CHECK_STATUS(mfp_oauth_token_client_set_profile(&c, &s), MFP_OAUTH_STATUS_INVALID_ARGUMENT);
  CHECK_STATUS(mfp_oauth_token_client_start_device(&c, 0), MFP_OAUTH_STATUS_DEVICE_FLOW_NOT_SUPPORTED);
  s = rfc_settings();
  CHECK_STATUS(mfp_oauth_token_client_set_profile(&c, NULL), NP);
  CHECK_OK(mfp_oauth_token_client_set_profile(&c, &s));
  CHECK_OK(mfp_oauth_token_client_start_device(&c, 0));
  CHECK_OK(mfp_oauth_token_client_destroy(&c));
  CHECK_OK(mfp_oauth_token_client_destroy(&c));
  CHECK_STATUS(mfp_oauth_token_client_set_profile(&c, &s), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_token_client_poll_timeout(&c, &d), MFP_OAUTH_STATUS_WRONG_STATE);
  CHECK_STATUS(mfp_oauth_token_client_destroy(NULL), NP);
}

/* A buffer shorter than the request gets it in pieces (the first opens the
 * connection, the last says so); joined they are the request a whole
 * buffer gets. Only an empty buffer is too small, with the request's size. */
TEST(a_short_request_buffer_gets_the_request_in_pieces) {
  static mfp_oauth_token_client c;
  mfp_oauth_settings s = rfc_settings();
  CHECK_OK(mfp_oauth_token_client_create(&c, &s, 7));
  CHECK_OK(mfp_oauth_token_client_start_device(&c, 0));
  size_t whole = 0;
  bool sensitive = true;
  mfp_oauth_endpoint ep;
  CHECK_OK(mfp_oauth_token_client_poll_transmit(&c, 0, (uint8_t *)request, sizeof request, &whole,
                                                &sensitive, &ep));
  CHECK(whole > 16 && ep.offset == 0 && ep.last);
  static char expected[sizeof request];
  memcpy(expected, request, whole);
  CHECK_OK(mfp_oauth_token_client_destroy(&c));

  CHECK_OK(mfp_oauth_token_client_create(&c, &s, 7));
  CHECK_OK(mfp_oauth_token_client_start_device(&c, 0));
  uint8_t none[1];
  size_t n = 0;
  CHECK_STATUS(mfp_oauth_token_client_poll_transmit(&c, 0, none, 0, &n, &sensitive, &ep),
               MFP_OAUTH_STATUS_BUFFER_TOO_SMALL);
  CHECK(n == whole);
  uint8_t small[16];
  size_t joined = 0;
  for (int piece = 0; piece < 1000; piece++) {
    CHECK_OK(mfp_oauth_token_client_poll_transmit(&c, 0, small, sizeof small, &n, &sensitive, &ep));
    CHECK(n > 0 && ep.offset == joined && joined + n <= whole);
    if (n == 0 || joined + n > whole) break;
    memcpy(request + joined, small, n);
    joined += n;
    if (ep.last) break;
    CHECK(n == sizeof small);
  }
  CHECK(joined == whole && memcmp(request, expected, whole) == 0);
  CHECK_OK(mfp_oauth_token_client_poll_transmit(&c, 0, small, sizeof small, &n, &sensitive, &ep));
  CHECK(n == 0);
  CHECK_OK(mfp_oauth_token_client_destroy(&c));
}

static const test_case cases[] = {
    CASE(device_flow_with_the_rfc_vectors),
    CASE(terminal_errors_are_events_with_diagnostics),
    CASE(no_tls_version_in_common_is_a_final_failure),
    CASE(pkce_authorize_url),
    CASE(misuse),
    CASE(a_short_request_buffer_gets_the_request_in_pieces),
};

int main(void) { return RUN_CASES("token_client", cases); }

/* mfp-printer: a printer's e-mail on Linux through the mfp-oauth C API,
 * with OpenSSL for TCP/TLS and files as the flash. Each run of the program
 * is one power-on: the mailer is loaded from the two slot files (or, on
 * the very first start only, created from the factory settings below);
 * running it again is a power cycle.
 *
 *   mfp-printer [--flash DIR] [--ca FILE] signin
 *       Configuration OAuth, Acquire: the administrator signs in with the
 *       device flow (code, URI and QR code printed); the refresh token is
 *       sealed into the flash.
 *   mfp-printer [--flash DIR] [--ca FILE] send --to ADDR [--to ADDR ...]
 *       --attach FILE [--name NAME] [--subject TEXT] [--from ADDR] [--copy FILE]
 *       A scan-to-email job: refresh grant, STARTTLS, AUTH, the message
 *       composed by the library and streamed with its file.
 *   mfp-printer [--flash DIR] status
 *
 * Factory settings (read at the first start only; afterwards the settings
 * persisted in flash are in force):
 *   MFP_ISSUER      https://host:port of a standards-compliant provider
 *                   (token at /token, device authorization at /device/auth)
 *   MFP_CLIENT_ID   the app registration's client id (public client)
 *   MFP_SCOPE       default "smtp offline_access"
 *   MFP_ADMIN       the administrator's address (the sender, administrator
 *                   fixed address mode)
 *   MFP_SMTP_HOST, MFP_SMTP_PORT (587), MFP_SMTP_SECURITY (starttls|implicit)
 *
 * Exit status: 0 done, 2 refused or failed (the diagnostic is printed),
 * 1 a usage or setup error. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flash.h"
#include "mfp_oauth.h"
#include "net.h"
#include "printer.h"

/* Called only if the library panics (a bug): log and reset. */
void mfp_oauth_panic_hook(void) {
  fputs("mfp-oauth: panic, resetting\n", stderr);
  abort();
}

static mfp_oauth_str env_str(const char *name, const char *fallback) {
  const char *v = getenv(name);
  if (!v || !*v) v = fallback;
  mfp_oauth_str s = {v, v ? strlen(v) : 0};
  return s;
}

/* The factory settings: a custom (standards-compliant) provider. */
static char token_url[300], device_url[300], authorize_url[300];

static mfp_oauth_settings factory_settings(void) {
  mfp_oauth_settings s;
  mfp_oauth_settings_init(&s);
  const char *issuer = getenv("MFP_ISSUER");
  if (issuer) {
    snprintf(token_url, sizeof token_url, "%s/token", issuer);
    snprintf(device_url, sizeof device_url, "%s/device/auth", issuer);
    snprintf(authorize_url, sizeof authorize_url, "%s/auth", issuer);
  }
  s.oauth_enabled = true;
  s.provider = MFP_OAUTH_PROVIDER_CUSTOM;
  s.client_id = env_str("MFP_CLIENT_ID", "mfp-printer");
  s.custom_token_url = env_str("", token_url);
  s.custom_device_url = env_str("", device_url);
  s.custom_authorize_url = env_str("", authorize_url);
  s.custom_scope = env_str("MFP_SCOPE", "smtp offline_access");
  s.admin_address = env_str("MFP_ADMIN", NULL);
  s.sender_mode = MFP_OAUTH_SENDER_MODE_ADMIN_FIXED_ADDRESS;
  s.smtp_host = env_str("MFP_SMTP_HOST", NULL);
  const char *port = getenv("MFP_SMTP_PORT");
  s.smtp_port = port ? (uint16_t)atoi(port) : 587;
  const char *sec = getenv("MFP_SMTP_SECURITY");
  s.smtp_security = sec && strcmp(sec, "implicit") == 0 ? MFP_OAUTH_SMTP_SECURITY_IMPLICIT_TLS
                                                        : MFP_OAUTH_SMTP_SECURITY_STARTTLS;
  return s;
}

static int usage(void) {
  fputs("usage: mfp-printer [--flash DIR] [--ca FILE] signin | status |\n"
        "       send --to ADDR [--to ADDR ...] --attach FILE [--name NAME] [--subject TEXT]\n"
        "            [--from ADDR] [--copy FILE]\n",
        stderr);
  return 1;
}

int main(int argc, char **argv) {
  const char *flash_dir = "printer-flash", *ca = NULL;
  int i = 1;
  for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
    if (strcmp(argv[i], "--flash") == 0) flash_dir = argv[i + 1];
    else if (strcmp(argv[i], "--ca") == 0) ca = argv[i + 1];
    else return usage();
  }
  if (i >= argc) return usage();
  const char *command = argv[i++];

  static const char *to[MFP_OAUTH_MIME_MAX_TO];
  printer_scan scan;
  memset(&scan, 0, sizeof scan);
  scan.to = to;
  scan.subject = "Scan from MFP";
  scan.text = "Scanned document attached.\n";
  if (strcmp(command, "send") == 0) {
    for (; i + 1 < argc; i += 2) {
      const char *k = argv[i], *v = argv[i + 1];
      if (strcmp(k, "--to") == 0 && scan.to_count < MFP_OAUTH_MIME_MAX_TO) to[scan.to_count++] = v;
      else if (strcmp(k, "--attach") == 0) scan.attachment_path = v;
      else if (strcmp(k, "--name") == 0) scan.attachment_name = v;
      else if (strcmp(k, "--subject") == 0) scan.subject = v;
      else if (strcmp(k, "--from") == 0) scan.from = v;
      else if (strcmp(k, "--copy") == 0) scan.copy_path = v;
      else return usage();
    }
    if (i != argc || scan.to_count == 0 || !scan.attachment_path) return usage();
    if (!scan.attachment_name) {
      const char *slash = strrchr(scan.attachment_path, '/');
      scan.attachment_name = slash ? slash + 1 : scan.attachment_path;
    }
  } else if (i != argc || (strcmp(command, "signin") != 0 && strcmp(command, "status") != 0)) {
    return usage();
  }

  setvbuf(stdout, NULL, _IOLBF, 0); /* each line reaches the log at once */
  /* A peer that closes while we write is an error to report (E606), not a
   * signal that ends the process (OpenSSL writes with write(2)). */
  signal(SIGPIPE, SIG_IGN);
  printf("mfp-oauth %s\n", mfp_oauth_version());
  if (flash_open(flash_dir) != 0) return 1;
  uint32_t st = net_tls_init(ca);
  if (st != MFP_OAUTH_STATUS_OK) return 1;
  mfp_oauth_settings factory = factory_settings();
  st = printer_power_on(&factory);
  if (st != MFP_OAUTH_STATUS_OK) {
    printer_show("power-on", st);
    net_tls_free();
    return 2;
  }
  printer_status();
  if (strcmp(command, "signin") == 0) {
    st = printer_acquire_admin();
    if (st == MFP_OAUTH_STATUS_OK) printer_status();
    else printer_show("sign-in", st);
  } else if (strcmp(command, "send") == 0) {
    st = printer_send_scan(&scan);
    if (st != MFP_OAUTH_STATUS_OK) printer_show("job failed", st);
    printer_status();
  }
  printer_power_off();
  net_tls_free();
  return st == MFP_OAUTH_STATUS_OK ? 0 : 2;
}

/* The printer's side of the mailer: power-on, persistence, the token
 * endpoint exchanges, and one scan-to-email job from plan to plan. */
#ifndef MFP_LINUX_PRINTER_H
#define MFP_LINUX_PRINTER_H

#include <stdint.h>

#include "mfp_oauth.h"

/* Shows a diagnostic as the panel and the support log would: its number,
 * code name, text and remedy. */
void printer_show(const char *what, uint32_t diag);

/* Power-on from the two slot files: the mailer is loaded from the newest
 * good image; only NV_EMPTY (both slots erased: the first start) leads to
 * creating it with `factory`. Any other failure is returned and nothing is
 * created or written (the images, and the refresh token, stay as they
 * are). */
uint32_t printer_power_on(const mfp_oauth_settings *factory);

/* Configuration OAuth, Acquire: the administrator signs in with the device
 * flow (the code and URI are printed, with a QR code for the panel); the
 * tokens are stored and the image persisted. */
uint32_t printer_acquire_admin(void);

/* One scan-to-email job. `from` NULL: the sender policy's address (the
 * administrator's in administrator-fixed mode). The composed message is
 * also written to `copy_path` when given (for checking the delivery). */
typedef struct {
  const char *from;
  const char *const *to;
  size_t to_count;
  const char *subject;
  const char *text;
  const char *attachment_path;
  const char *attachment_name;
  const char *copy_path;
} printer_scan;

uint32_t printer_send_scan(const printer_scan *scan);

/* Prints the administrator's token status and the persisted settings. */
void printer_status(void);

/* Wipes the mailer (as at power-off). */
void printer_power_off(void);

#endif

/* Files as the printer's flash: the two NV slots of the mailer's image
 * (`slot-a.bin`, `slot-b.bin`), the device key and an RNG. */
#ifndef MFP_LINUX_FLASH_H
#define MFP_LINUX_FLASH_H

#include <stddef.h>
#include <stdint.h>

/* Uses `dir` (created if missing) as the flash. Returns 0 or -1. */
int flash_open(const char *dir);

/* Reads slot 0 (A) or 1 (B) into `buf` (`cap` octets). A slot that was
 * never written or was erased reads as 0 octets. Returns 0, or -1 on a
 * read error or a slot larger than `cap` (a storage fault: never treat
 * it as an erased slot). */
int flash_read(uint32_t slot, uint8_t *buf, size_t cap, size_t *out_len);

/* Writes `len` octets to the slot, as flash is written: in place, then
 * fsync, then read back and compared (the image is only reported written
 * once it is verified). Returns 0 or -1. */
int flash_write(uint32_t slot, const uint8_t *data, size_t len);

/* Erases the slot (it then reads as 0 octets), durably. Returns 0 or -1. */
int flash_erase(uint32_t slot);

/* The device key (MFP_OAUTH_DEVICE_KEY_LEN octets) that seals the refresh
 * tokens in the images: made from the RNG at the first start and kept in
 * `device.key` (on a printer: a secure element or fused OTP). */
int flash_device_key(uint8_t *key, size_t len);

/* `len` octets from the kernel's CSPRNG. Returns 0 or -1. */
int random_bytes(uint8_t *out, size_t len);

#endif

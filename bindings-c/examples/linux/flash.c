/* Files as flash for the Linux example (see flash.h). */
#define _POSIX_C_SOURCE 200809L
#include "flash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static char flash_dir[512];

static void path_of(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "%s/%s", flash_dir, name);
}

static const char *slot_name(uint32_t slot) { return slot == 0 ? "slot-a.bin" : "slot-b.bin"; }

/* fsync of the directory: a file created or emptied stays so after a power cut. */
static int sync_dir(void) {
  int fd = open(flash_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int r = fsync(fd);
  close(fd);
  return r;
}

int flash_open(const char *dir) {
  if (strlen(dir) >= sizeof flash_dir - 16) return -1;
  strcpy(flash_dir, dir);
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    perror(dir);
    return -1;
  }
  return 0;
}

static int read_all(int fd, uint8_t *buf, size_t cap, size_t *out_len) {
  size_t n = 0;
  for (;;) {
    uint8_t extra;
    uint8_t *at = n < cap ? buf + n : &extra;
    ssize_t r = read(fd, at, n < cap ? cap - n : 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    if (n >= cap) return -1; /* larger than a slot */
    n += (size_t)r;
  }
  *out_len = n;
  return 0;
}

int flash_read(uint32_t slot, uint8_t *buf, size_t cap, size_t *out_len) {
  char path[600];
  path_of(path, sizeof path, slot_name(slot));
  *out_len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -1; /* never written: erased */
  int r = read_all(fd, buf, cap, out_len);
  close(fd);
  if (r != 0) fprintf(stderr, "flash: %s cannot be read (or is larger than a slot)\n", path);
  return r;
}

int flash_write(uint32_t slot, const uint8_t *data, size_t len) {
  char path[600];
  path_of(path, sizeof path, slot_name(slot));
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      close(fd);
      return -1;
    }
    off += (size_t)w;
  }
  if (fsync(fd) != 0) {
    close(fd);
    return -1;
  }
  /* Read back and compare, as firmware verifies a flash page. */
  int ok = lseek(fd, 0, SEEK_SET) == 0;
  uint8_t *back = ok ? malloc(len + 1) : NULL;
  size_t got = 0;
  ok = back && read_all(fd, back, len + 1, &got) == 0 && got == len && memcmp(back, data, len) == 0;
  free(back);
  close(fd);
  return ok && sync_dir() == 0 ? 0 : -1;
}

int flash_erase(uint32_t slot) {
  char path[600];
  path_of(path, sizeof path, slot_name(slot));
  int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  int r = fsync(fd);
  close(fd);
  return r == 0 && sync_dir() == 0 ? 0 : -1;
}

int random_bytes(uint8_t *out, size_t len) {
  while (len > 0) {
    ssize_t n = getrandom(out, len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    out += n;
    len -= (size_t)n;
  }
  return 0;
}

int flash_device_key(uint8_t *key, size_t len) {
  char path[600];
  path_of(path, sizeof path, "device.key");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    size_t got = 0;
    int r = read_all(fd, key, len, &got);
    close(fd);
    return r == 0 && got == len ? 0 : -1;
  }
  if (errno != ENOENT || random_bytes(key, len) != 0) return -1;
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  int ok = write(fd, key, len) == (ssize_t)len && fsync(fd) == 0;
  close(fd);
  return ok && sync_dir() == 0 ? 0 : -1;
}

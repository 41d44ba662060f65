/*
 * casefold: a FUSE passthrough file system that behaves like the default file systems of macOS
 * (APFS) and Windows (NTFS): case-insensitive and case-preserving. It mirrors a backing folder on
 * an ordinary case-sensitive Linux file system, for tests only.
 *
 *   casefold BACKING MOUNTPOINT [fuse options, e.g. -f -s -o auto_unmount]
 *
 * Rules, as those file systems have them:
 * - a name that does not exist with its exact spelling is looked up case-insensitively (ASCII
 *   letters) in its parent, so open("README.md") opens "readme.md";
 * - readdir lists the stored spelling; create, mkdir and symlink store the spelling given, and
 *   creating "A" where "a" exists opens (or fails on) "a";
 * - renaming a name to another case of itself renames the stored entry; renaming onto another
 *   entry replaces it, and the result takes the spelling given.
 *
 * Single-threaded (-s) is assumed: the path buffers below are shared.
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

static char backing[PATH_MAX];

/*
 * Maps a mount path ("/a/b") to its backing path. Each segment is used as spelled when that
 * exists, else the first entry of its parent that matches it case-insensitively, else as spelled
 * (the rest of the path then does not exist, and the caller's system call says so).
 */
static int resolve(const char *path, char *out) {
  size_t n = strlen(backing);
  if (n >= PATH_MAX) return -ENAMETOOLONG;
  memcpy(out, backing, n + 1);
  const char *p = path;
  int missing = 0;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    const char *end = strchr(p, '/');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (n + 1 + len >= PATH_MAX) return -ENAMETOOLONG;
    out[n] = '/';
    memcpy(out + n + 1, p, len);
    out[n + 1 + len] = '\0';
    struct stat st;
    if (!missing && lstat(out, &st) != 0) {
      out[n] = '\0';
      DIR *dir = opendir(n == 0 ? "/" : out);
      int found = 0;
      if (dir) {
        struct dirent *de;
        while ((de = readdir(dir)) != NULL) {
          if (strlen(de->d_name) == len && strncasecmp(de->d_name, p, len) == 0) {
            memcpy(out + n + 1, de->d_name, len);
            found = 1;
            break;
          }
        }
        closedir(dir);
      }
      out[n] = '/';
      if (!found) missing = 1;
    }
    n += 1 + len;
    p += len;
  }
  return 0;
}

/* The backing path of `path`'s parent folder, resolved, with the last segment as spelled. */
static int resolve_spelled(const char *path, char *out) {
  const char *slash = strrchr(path, '/');
  char parent[PATH_MAX];
  size_t plen = slash ? (size_t)(slash - path) : 0;
  memcpy(parent, path, plen);
  parent[plen] = '\0';
  int rc = resolve(parent, out);
  if (rc) return rc;
  if (strlen(out) + strlen(slash ? slash : path) >= PATH_MAX) return -ENAMETOOLONG;
  strcat(out, slash ? slash : "/");
  return 0;
}

#define RESOLVE(p, buf)            \
  char buf[PATH_MAX];              \
  do {                             \
    int rc_ = resolve((p), buf);   \
    if (rc_) return rc_;           \
  } while (0)

static int err(int rc) { return rc < 0 ? -errno : rc; }

static void *cf_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
  (void)conn;
  cfg->use_ino = 1;
  /* No kernel caching of names or attributes: the kernel's dentry cache is case-sensitive. */
  cfg->entry_timeout = 0;
  cfg->attr_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->direct_io = 0;
  return NULL;
}

static int cf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  if (fi) return err(fstat((int)fi->fh, st));
  RESOLVE(path, real);
  return err(lstat(real, st));
}

static int cf_access(const char *path, int mask) {
  RESOLVE(path, real);
  return err(faccessat(AT_FDCWD, real, mask, AT_SYMLINK_NOFOLLOW));
}

static int cf_readlink(const char *path, char *buf, size_t size) {
  RESOLVE(path, real);
  ssize_t n = readlink(real, buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return 0;
}

static int cf_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t offset,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags) {
  (void)offset;
  (void)fi;
  (void)flags;
  RESOLVE(path, real);
  DIR *dir = opendir(real);
  if (!dir) return -errno;
  struct dirent *de;
  while ((de = readdir(dir)) != NULL) {
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_ino = de->d_ino;
    st.st_mode = (mode_t)de->d_type << 12;
    if (fill(buf, de->d_name, &st, 0, 0)) break;
  }
  closedir(dir);
  return 0;
}

static int cf_mkdir(const char *path, mode_t mode) {
  RESOLVE(path, real);
  return err(mkdir(real, mode));
}

static int cf_unlink(const char *path) {
  RESOLVE(path, real);
  return err(unlink(real));
}

static int cf_rmdir(const char *path) {
  RESOLVE(path, real);
  return err(rmdir(real));
}

static int cf_symlink(const char *target, const char *path) {
  RESOLVE(path, real);
  return err(symlink(target, real));
}

static int cf_rename(const char *from, const char *to, unsigned int flags) {
  if (flags) return -EINVAL;
  RESOLVE(from, real_from);
  RESOLVE(to, real_to);
  char spelled[PATH_MAX];
  int rc = resolve_spelled(to, spelled);
  if (rc) return rc;
  if (strcmp(real_from, real_to) == 0) {
    /* Another case of the same name: store the new spelling. */
    return err(rename(real_from, spelled));
  }
  if (rename(real_from, real_to) != 0) return -errno;
  if (strcmp(real_to, spelled) != 0 && rename(real_to, spelled) != 0) return -errno;
  return 0;
}

static int cf_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
  if (fi) return err(fchmod((int)fi->fh, mode));
  RESOLVE(path, real);
  return err(chmod(real, mode));
}

static int cf_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi) {
  (void)fi;
  RESOLVE(path, real);
  return err(lchown(real, uid, gid));
}

static int cf_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
  if (fi) return err(ftruncate((int)fi->fh, size));
  RESOLVE(path, real);
  return err(truncate(real, size));
}

static int cf_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
  if (fi) return err(futimens((int)fi->fh, tv));
  RESOLVE(path, real);
  return err(utimensat(AT_FDCWD, real, tv, AT_SYMLINK_NOFOLLOW));
}

static int cf_open(const char *path, struct fuse_file_info *fi) {
  RESOLVE(path, real);
  int fd = open(real, fi->flags);
  if (fd < 0) return -errno;
  fi->fh = (uint64_t)fd;
  return 0;
}

static int cf_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
  /* resolve() maps "A" to an existing "a", so creating "A" opens "a", as on APFS. */
  RESOLVE(path, real);
  int fd = open(real, fi->flags, mode);
  if (fd < 0) return -errno;
  fi->fh = (uint64_t)fd;
  return 0;
}

static int cf_read(const char *path, char *buf, size_t size, off_t offset, struct fuse_file_info *fi) {
  (void)path;
  ssize_t n = pread((int)fi->fh, buf, size, offset);
  return n < 0 ? -errno : (int)n;
}

static int cf_write(const char *path, const char *buf, size_t size, off_t offset,
                    struct fuse_file_info *fi) {
  (void)path;
  ssize_t n = pwrite((int)fi->fh, buf, size, offset);
  return n < 0 ? -errno : (int)n;
}

static int cf_statfs(const char *path, struct statvfs *st) {
  RESOLVE(path, real);
  return err(statvfs(real, st));
}

static int cf_flush(const char *path, struct fuse_file_info *fi) {
  (void)path;
  (void)fi;
  return 0;
}

static int cf_release(const char *path, struct fuse_file_info *fi) {
  (void)path;
  close((int)fi->fh);
  return 0;
}

static int cf_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
  (void)path;
  return err(datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh));
}

static const struct fuse_operations ops = {
    .init = cf_init,
    .getattr = cf_getattr,
    .access = cf_access,
    .readlink = cf_readlink,
    .readdir = cf_readdir,
    .mkdir = cf_mkdir,
    .unlink = cf_unlink,
    .rmdir = cf_rmdir,
    .symlink = cf_symlink,
    .rename = cf_rename,
    .chmod = cf_chmod,
    .chown = cf_chown,
    .truncate = cf_truncate,
    .utimens = cf_utimens,
    .open = cf_open,
    .create = cf_create,
    .read = cf_read,
    .write = cf_write,
    .statfs = cf_statfs,
    .flush = cf_flush,
    .release = cf_release,
    .fsync = cf_fsync,
};

int main(int argc, char *argv[]) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s BACKING MOUNTPOINT [fuse options]\n", argv[0]);
    return 2;
  }
  if (!realpath(argv[1], backing)) {
    perror(argv[1]);
    return 2;
  }
  if (strcmp(backing, "/") == 0) backing[0] = '\0';
  /* FUSE sees the arguments without BACKING. */
  argv[1] = argv[0];
  umask(0);
  return fuse_main(argc - 1, argv + 1, &ops, NULL);
}

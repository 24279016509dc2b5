// SPDX-License-Identifier: MIT
/*
 * unpriv.c - what a mount by an ordinary user (not root) cannot have, said before mounting.
 *
 * Design: a user who is not root mounts through libfuse, which opens /dev/fuse itself and,
 * when mount(2) is refused, has the set-uid fusermount3 mount that descriptor. Three things
 * stop such a mount, and each would otherwise show up late, unclearly or not at all:
 *
 *   /dev/fuse not openable   libfuse says only "failed to open /dev/fuse: Permission denied";
 *                            Debian ships it 0666, some machines 0600. We open it first and
 *                            say what to do, in one line.
 *   allow_other, allow_root  fusermount3 refuses them unless /etc/fuse.conf has a line
 *                            "user_allow_other"; we read that file as fusermount3 does
 *                            ('#' starts a comment, the word alone on its line) and refuse
 *                            with the fix, before any pool is made.
 *   readahead=N (N > 0)      set through /sys/class/bdi/.../read_ahead_kb, which only root
 *                            may write; asked for by a user, it is refused rather than
 *                            silently not done. The default window (4m) is not asked for:
 *                            for a user it falls back to the kernel's 128k, as documented.
 *
 * Root passes every check unchanged. Nothing here is shared between threads: it runs once,
 * before the session exists. Failure behaviour: one line on stderr naming the option or the
 * device, the cause and the fix; -EPERM (or -ENOENT for a missing device); nothing mounted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unpriv.h"

#define FUSE_DEV "/dev/fuse"
#define FUSE_CONF "/etc/fuse.conf"

/* Does /etc/fuse.conf have a line "user_allow_other" (comments and blanks aside)? */
static bool conf_allows_other(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(FUSE_CONF, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *s = line, *end;

		end = strchr(s, '#');
		if (end)
			*end = '\0';
		s += strspn(s, " \t");
		end = s + strlen(s);
		while (end > s && strchr(" \t\r\n", end[-1]))
			end--;
		*end = '\0';
		found = !strcmp(s, "user_allow_other");
	}
	fclose(f);
	return found;
}

/* Can this process open /dev/fuse? Return: 0, or -errno after one line saying what to do. */
static int check_fuse_dev(void)
{
	struct stat st;
	int fd = open(FUSE_DEV, O_RDWR | O_CLOEXEC);
	int err = errno;

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (err == ENOENT || err == ENODEV || err == ENXIO) {
		fprintf(stderr, "zpoolfs: cannot open %s: %s (as root: modprobe fuse)\n", FUSE_DEV,
			strerror(err));
		return -ENOENT;
	}
	if (stat(FUSE_DEV, &st) == 0)
		fprintf(stderr, "zpoolfs: cannot open %s as uid %u: %s (it is mode %04o; to mount as "
			"an ordinary user, as root: chmod 0666 %s, Debian's default; or mount as "
			"root)\n", FUSE_DEV, (unsigned int)geteuid(), strerror(err),
			(unsigned int)(st.st_mode & 07777), FUSE_DEV);
	else
		fprintf(stderr, "zpoolfs: cannot open %s as uid %u: %s (mount as root, or have root "
			"make it 0666)\n", FUSE_DEV, (unsigned int)geteuid(), strerror(err));
	return -EPERM;
}

int zfs_unpriv_check(struct zfs_options *o, const struct zfs_opt_strings *s)
{
	int err;

	if (geteuid() == 0)
		return 0;
	if (s->readahead && o->readahead_kib) {
		fprintf(stderr, "zpoolfs: readahead=%s needs root: the window is set in "
			"/sys/class/bdi/*/read_ahead_kb, which only root may write (leave it out, "
			"or mount as root)\n", s->readahead);
		return -EPERM;
	}
	o->readahead_kib = 0;	/* the default window is root's only; keep the kernel's */
	if (s->allow_other && !conf_allows_other()) {
		fprintf(stderr, "zpoolfs: %s needs a line user_allow_other in %s when the mount is "
			"not made by root (add it as root, or mount as root)\n",
			s->allow_other == ZFS_ALLOW_ROOT ? "allow_root" : "allow_other", FUSE_CONF);
		return -EPERM;
	}
	err = check_fuse_dev();
	return err;
}

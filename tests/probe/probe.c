/*
 * probe: the driver the integration tests hand to portbind.
 *
 * It records what it was given (arguments, environment, ids, groups,
 * capabilities, signal state, session, every open fd and what each socket
 * is bound to) as "key=value" lines on stdout, ending with "end=1".
 * Bytes outside 0x21..0x7e and the backslash are written as \xHH, so one
 * line is always one value and the report is plain ASCII.
 *
 * The whole report is gathered in memory before anything is written, and
 * the fd table is read before any file of the probe's own is opened, so
 * the probe never reports its own fds. Signal state is read from
 * /proc/self/status; the probe changes no disposition and no mask.
 *
 * Options (anywhere in argv, exact spelling):
 *   --serve=N  after the report: listen on fd N if it is not listening yet,
 *              accept one connection, send "hello from probe uid=<ruid>\n"
 *   --exit=N   exit with status N instead of 0
 *
 * Built by the tests with: cc -static -O2 -Wall -o probe tests/probe/probe.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FDS 4096

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

static struct buf report;

static void die(const char *what)
{
	/* stderr may be closed or /dev/null; the status tells the test. */
	dprintf(2, "probe: %s: %s\n", what, strerror(errno));
	_exit(111);
}

static void put_bytes(const char *p, size_t n)
{
	if (report.len + n > report.cap) {
		size_t cap = report.cap ? report.cap : 16384;
		while (report.len + n > cap)
			cap *= 2;
		char *grown = realloc(report.data, cap);
		if (grown == NULL)
			die("out of memory");
		report.data = grown;
		report.cap = cap;
	}
	memcpy(report.data + report.len, p, n);
	report.len += n;
}

static void put_str(const char *s)
{
	put_bytes(s, strlen(s));
}

static void put_fmt(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line)
		die("report line too long");
	put_bytes(line, (size_t)n);
}

/* Writes n bytes so that every byte outside 0x21..0x7e and '\' is \xHH. */
static void put_escaped(const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c >= 0x21 && c <= 0x7e && c != '\\') {
			put_bytes((const char *)&c, 1);
		} else {
			char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
			put_bytes(esc, 4);
		}
	}
}

static void put_kv_escaped(const char *key, const char *value)
{
	put_str(key);
	put_str("=");
	put_escaped((const unsigned char *)value, strlen(value));
	put_str("\n");
}

/* Reads a whole small file into a NUL-terminated heap buffer. */
static char *read_small_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path);

	size_t cap = 8192, len = 0;
	char *text = malloc(cap);
	if (text == NULL)
		die("out of memory");
	for (;;) {
		if (len + 1 >= cap) {
			cap *= 2;
			text = realloc(text, cap);
			if (text == NULL)
				die("out of memory");
		}
		ssize_t n = read(fd, text + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(path);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	text[len] = '\0';
	return text;
}

/* The value of "Name:\tvalue" in /proc/self/status, "?" when absent. */
static void put_status_field(const char *status, const char *field,
			     const char *key)
{
	size_t flen = strlen(field);
	const char *line = status;

	while (line != NULL && *line != '\0') {
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			const char *v = line + flen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			const char *end = strchr(v, '\n');
			size_t n = end ? (size_t)(end - v) : strlen(v);
			put_str(key);
			put_str("=");
			put_escaped((const unsigned char *)v, n);
			put_str("\n");
			return;
		}
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	put_str(key);
	put_str("=?\n");
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static int cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
	return (x > y) - (x < y);
}

/*
 * The open fds, ascending, without the directory's own. Runs before the
 * probe opens anything else, so every fd listed was inherited.
 */
static size_t list_fds(int *fds, size_t max)
{
	DIR *dir = opendir("/proc/self/fd");
	if (dir == NULL)
		die("/proc/self/fd");
	int own = dirfd(dir);
	size_t count = 0;
	struct dirent *entry;

	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
			continue;
		int fd = atoi(entry->d_name);
		if (fd == own)
			continue;
		if (count == max) {
			errno = EMFILE;
			die("too many open fds to report");
		}
		fds[count++] = fd;
	}
	closedir(dir);
	qsort(fds, count, sizeof fds[0], cmp_int);
	return count;
}

static int sockopt_flag(int fd, int level, int name)
{
	int value = 0;
	socklen_t len = sizeof value;

	if (getsockopt(fd, level, name, &value, &len) != 0)
		return -1;
	return value != 0;
}

static void put_sockopt(const char *key, int fd, int level, int name)
{
	int v = sockopt_flag(fd, level, name);
	if (v < 0)
		put_fmt("%s.%d=?\n", key, fd);
	else
		put_fmt("%s.%d=%d\n", key, fd, v);
}

static void put_socket(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char text[INET6_ADDRSTRLEN];

	memset(&ss, 0, sizeof ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
		put_fmt("sock.%d=other ? 0\n", fd);
		return;
	}

	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
		put_fmt("sock.%d=inet %s %u\n", fd, text, ntohs(in->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
		put_fmt("sock.%d=inet6 %s %u\n", fd, text,
			ntohs(in6->sin6_port));
	} else if (ss.ss_family == AF_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		size_t off = offsetof(struct sockaddr_un, sun_path);
		size_t n = len > off ? len - off : 0;
		put_fmt("sock.%d=unix ", fd);
		if (n == 0) {
			put_str("-");
		} else if (un->sun_path[0] == '\0') {
			put_str("@");
			put_escaped((unsigned char *)un->sun_path + 1, n - 1);
		} else {
			put_escaped((unsigned char *)un->sun_path,
				    strnlen(un->sun_path, n));
		}
		put_str(" 0\n");
	} else {
		put_fmt("sock.%d=other %d 0\n", fd, ss.ss_family);
	}

	int type = 0;
	socklen_t tlen = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0)
		put_fmt("socktype.%d=?\n", fd);
	else if (type == SOCK_STREAM)
		put_fmt("socktype.%d=stream\n", fd);
	else if (type == SOCK_DGRAM)
		put_fmt("socktype.%d=dgram\n", fd);
	else
		put_fmt("socktype.%d=%d\n", fd, type);

	put_sockopt("listen", fd, SOL_SOCKET, SO_ACCEPTCONN);
	if (ss.ss_family == AF_INET6)
		put_sockopt("v6only", fd, IPPROTO_IPV6, IPV6_V6ONLY);
	put_sockopt("reuseaddr", fd, SOL_SOCKET, SO_REUSEADDR);
	put_sockopt("reuseport", fd, SOL_SOCKET, SO_REUSEPORT);
}

static void put_fd(int fd)
{
	char link[64], target[PATH_MAX + 1];

	put_fmt("fd=%d\n", fd);

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n < 0)
		n = 0;
	put_fmt("fdpath.%d=", fd);
	put_escaped((unsigned char *)target, (size_t)n);
	put_str("\n");

	int flags = fcntl(fd, F_GETFD);
	if (flags < 0)
		put_fmt("cloexec.%d=?\n", fd);
	else
		put_fmt("cloexec.%d=%d\n", fd, (flags & FD_CLOEXEC) != 0);

	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
		put_socket(fd);
}

static void put_ids(void)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) != 0)
		die("getresuid");
	if (getresgid(&rg, &eg, &sg) != 0)
		die("getresgid");
	put_fmt("uid=%u,%u,%u\n", ru, eu, su);
	put_fmt("gid=%u,%u,%u\n", rg, eg, sg);

	int n = getgroups(0, NULL);
	if (n < 0)
		die("getgroups");
	gid_t *groups = calloc((size_t)n + 1, sizeof *groups);
	if (groups == NULL)
		die("out of memory");
	n = getgroups(n, groups);
	if (n < 0)
		die("getgroups");
	qsort(groups, (size_t)n, sizeof *groups, cmp_gid);
	put_str("groups=");
	for (int i = 0; i < n; i++)
		put_fmt(i ? ",%u" : "%u", groups[i]);
	put_str("\n");
	free(groups);
}

static int parse_option(int argc, char **argv, const char *prefix)
{
	size_t plen = strlen(prefix);

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], prefix, plen) == 0) {
			char *end;
			errno = 0;
			long v = strtol(argv[i] + plen, &end, 10);
			if (errno != 0 || end == argv[i] + plen || *end != '\0' ||
			    v < 0 || v > INT_MAX) {
				errno = EINVAL;
				die(argv[i]);
			}
			return (int)v;
		}
	}
	return -1;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* stdout closed or gone: nothing to tell */
		p += w;
		n -= (size_t)w;
	}
}

static void serve(int fd)
{
	if (sockopt_flag(fd, SOL_SOCKET, SO_ACCEPTCONN) != 1 &&
	    listen(fd, 16) != 0)
		die("listen");

	int conn;
	do
		conn = accept(fd, NULL, NULL);
	while (conn < 0 && errno == EINTR);
	if (conn < 0)
		die("accept");

	char line[64];
	int n = snprintf(line, sizeof line, "hello from probe uid=%u\n",
			 getuid());
	write_all(conn, line, (size_t)n);
	close(conn);
}

int main(int argc, char **argv, char **envp)
{
	static int fds[MAX_FDS];
	size_t nfds = list_fds(fds, MAX_FDS);

	put_fmt("argc=%d\n", argc);
	for (int i = 0; i < argc && argv[i] != NULL; i++)
		put_kv_escaped("argv", argv[i]);
	for (char **e = envp; e != NULL && *e != NULL; e++)
		put_kv_escaped("env", *e);

	put_ids();

	char *status = read_small_file("/proc/self/status");
	put_status_field(status, "CapInh", "cap_inh");
	put_status_field(status, "CapPrm", "cap_prm");
	put_status_field(status, "CapEff", "cap_eff");
	put_status_field(status, "CapBnd", "cap_bnd");
	put_status_field(status, "CapAmb", "cap_amb");
	put_fmt("securebits=%d\n", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
	put_fmt("no_new_privs=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	put_status_field(status, "SigBlk", "sigblk");
	put_status_field(status, "SigIgn", "sigign");
	free(status);

	put_fmt("pid=%d\n", (int)getpid());
	put_fmt("ppid=%d\n", (int)getppid());
	put_fmt("sid=%d\n", (int)getsid(0));
	put_fmt("pgid=%d\n", (int)getpgrp());
	for (int fd = 0; fd <= 2; fd++)
		put_fmt("tty%d=%d\n", fd, isatty(fd) == 1);

	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof cwd) != NULL)
		put_kv_escaped("cwd", cwd);
	else
		put_str("cwd=?\n");

	for (size_t i = 0; i < nfds; i++)
		put_fd(fds[i]);

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit");
	put_fmt("rlimit_nofile=%llu,%llu\n", (unsigned long long)rl.rlim_cur,
		(unsigned long long)rl.rlim_max);

	put_str("end=1\n");
	write_all(1, report.data, report.len);

	int serve_fd = parse_option(argc, argv, "--serve=");
	int status_code = parse_option(argc, argv, "--exit=");
	if (serve_fd >= 0)
		serve(serve_fd);
	return status_code >= 0 ? status_code : 0;
}

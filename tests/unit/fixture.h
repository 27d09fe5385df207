/* A /proc fixture tree built at test time in a temporary directory. */
#pragma once
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline char *fx_root(void)
{
	char tmpl[] = "/tmp/sockreap-fx.XXXXXX";
	char *d = mkdtemp(tmpl);
	if (!d || !(d = strdup(d))) {
		perror("mkdtemp");
		abort();
	}
	return d;
}

/* root/rel into path, creating the directories on the way. */
static inline void fx_path(const char *root, const char *rel, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
}

/* fx_file(root, "12/comm", "nginx\n") */
static inline void fx_file(const char *root, const char *rel, const char *text)
{
	char path[512];
	fx_path(root, rel, path, sizeof(path));
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* fx_link(root, "12/fd/3", "socket:[100]") */
static inline void fx_link(const char *root, const char *rel, const char *target)
{
	char path[512];
	fx_path(root, rel, path, sizeof(path));
	if (symlink(target, path) < 0)
		perror(path);
}

static inline void fx_remove(char *root)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		perror(cmd);
	free(root);
}

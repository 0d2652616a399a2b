/*
 * replay.c: runs every file of a corpus through a fuzz target's
 * LLVMFuzzerTestOneInput, without libFuzzer, so a corpus (seeds plus every
 * crash found and fixed) is an ordinary ctest with any compiler.
 *
 *   fuzz_replay_<target> DIR|FILE...
 *
 * Exit 0 when every input ran; a broken invariant aborts. Fails when no
 * input was found, so a missing corpus cannot pass silently.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_target.h"

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	/* Exactly @len bytes on the heap, so ASan sees any read past the end. */
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "replay: %s: short read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

static int only_files(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	unsigned inputs = 0, errors = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct dirent **names;
		struct stat st;
		int n;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			errors++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			errors += run_file(argv[i]) < 0;
			inputs++;
			continue;
		}
		if ((n = scandir(argv[i], &names, only_files, alphasort)) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			errors++;
			continue;
		}
		for (int j = 0; j < n; j++) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", argv[i], names[j]->d_name);
			errors += run_file(path) < 0;
			inputs++;
			free(names[j]);
		}
		free(names);
	}
	printf("replayed %u inputs, %u unreadable\n", inputs, errors);
	return inputs > 0 && errors == 0 ? 0 : 1;
}

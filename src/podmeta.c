// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kubernetes v1 Pod / PodList JSON to struct pod_meta_list. The same parser
 * serves the API server's answer to GET /api/v1/pods and a PodList file given
 * with --pods-file (what `kubectl get pods -o json` or the lab writes), so the
 * two sources cannot disagree about what a pod looks like. Input is untrusted:
 * every field is type-checked and bounded, and any failure leaves the output
 * list empty with one line in the caller's error buffer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>

#include "podmeta.h"

/* Largest Pod/PodList file podmeta_load_file() reads (a 5000-pod node fits). */
#define PODMETA_FILE_MAX (256u << 20)

void pod_meta_list__free(struct pod_meta_list *list)
{
	int i;

	if (!list)
		return;
	for (i = 0; i < list->count; i++)
		free(list->pods[i].containers);
	free(list->pods);
	list->pods = NULL;
	list->count = 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Copy the optional string member @key of @obj into @dst (size @dstlen).
 * Absent or null: @dst becomes "". Returns -EINVAL (with a message naming
 * @what.@key) when the member is not a string or does not fit.
 */
static int copy_str(json_t *obj, const char *key, char *dst, size_t dstlen, const char *what,
		    char *err, size_t errlen)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;
	size_t len;

	dst[0] = '\0';
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		set_err(err, errlen, "%s.%s: expected a string", what, key);
		return -EINVAL;
	}
	len = json_string_length(v);
	if (len >= dstlen || memchr(json_string_value(v), '\0', len)) {
		set_err(err, errlen, "%s.%s: value too long (%zu bytes, limit %zu)", what, key, len,
			dstlen - 1);
		return -EINVAL;
	}
	memcpy(dst, json_string_value(v), len + 1);
	return 0;
}

/* Member @key of @obj if it is an object (NULL when absent or null), else -EINVAL. */
static int get_obj(json_t *obj, const char *key, json_t **out, const char *what, char *err,
		   size_t errlen)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		set_err(err, errlen, "%s.%s: expected an object", what, key);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Member @key of @obj if it is an array (NULL when absent or null), else -EINVAL. */
static int get_arr(json_t *obj, const char *key, json_t **out, const char *what, char *err,
		   size_t errlen)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v)) {
		set_err(err, errlen, "%s.%s: expected an array", what, key);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/*
 * Split a containerStatuses[].containerID ("<runtime>://<id>") into @c's
 * runtime and id. An empty string (container not created yet) is fine.
 */
static int split_container_id(const char *cid, struct container_meta *c, const char *what,
			      char *err, size_t errlen)
{
	const char *sep = strstr(cid, "://");
	size_t rlen, ilen;

	if (!*cid)
		return 0;
	if (!sep || sep == cid) {
		set_err(err, errlen, "%s: containerID \"%.80s\" is not <runtime>://<id>", what,
			cid);
		return -EINVAL;
	}
	rlen = sep - cid;
	ilen = strlen(sep + 3);
	if (rlen >= sizeof(c->runtime) || ilen == 0 || ilen >= sizeof(c->id)) {
		set_err(err, errlen, "%s: containerID \"%.80s\" has a bad runtime or id length",
			what, cid);
		return -EINVAL;
	}
	memcpy(c->runtime, cid, rlen);
	c->runtime[rlen] = '\0';
	memcpy(c->id, sep + 3, ilen + 1);
	return 0;
}

/* Join status.containerStatuses[] to the containers of @pod by name. */
static int parse_statuses(json_t *statuses, struct pod_meta *pod, const char *what, char *err,
			  size_t errlen)
{
	char sname[POD_NAME_MAX], cid[CONTAINER_ID_MAX + 32], swhat[96];
	size_t i;
	json_t *st;
	int j, ret;

	json_array_foreach (statuses, i, st) {
		snprintf(swhat, sizeof(swhat), "%s.containerStatuses[%zu]", what, i);
		if (!json_is_object(st)) {
			set_err(err, errlen, "%s: expected an object", swhat);
			return -EINVAL;
		}
		ret = copy_str(st, "name", sname, sizeof(sname), swhat, err, errlen);
		if (!ret)
			ret = copy_str(st, "containerID", cid, sizeof(cid), swhat, err, errlen);
		if (ret)
			return ret;
		for (j = 0; j < pod->container_count; j++) {
			if (strcmp(pod->containers[j].name, sname))
				continue;
			ret = split_container_id(cid, &pod->containers[j], swhat, err, errlen);
			if (ret)
				return ret;
			break;
		}
	}
	return 0;
}

/* Fill @pod (zeroed by the caller) from one v1 Pod object; @what names it in errors. */
static int parse_pod(json_t *obj, struct pod_meta *pod, const char *what, char *err, size_t errlen)
{
	json_t *meta, *spec, *status, *containers, *statuses, *c;
	char cwhat[96], mwhat[48], swhat[48], stwhat[48];
	size_t i, n;
	int ret;

	if (!json_is_object(obj)) {
		set_err(err, errlen, "%s: expected an object", what);
		return -EINVAL;
	}
	ret = get_obj(obj, "metadata", &meta, what, err, errlen);
	if (!ret)
		ret = get_obj(obj, "spec", &spec, what, err, errlen);
	if (!ret)
		ret = get_obj(obj, "status", &status, what, err, errlen);
	if (ret)
		return ret;
	if (!meta) {
		set_err(err, errlen, "%s: no metadata", what);
		return -EINVAL;
	}
	snprintf(mwhat, sizeof(mwhat), "%s.metadata", what);
	snprintf(swhat, sizeof(swhat), "%s.spec", what);
	snprintf(stwhat, sizeof(stwhat), "%s.status", what);
	ret = copy_str(meta, "name", pod->name, sizeof(pod->name), mwhat, err, errlen);
	if (!ret)
		ret = copy_str(meta, "namespace", pod->namespace_, sizeof(pod->namespace_), mwhat,
			       err, errlen);
	if (!ret)
		ret = copy_str(meta, "uid", pod->uid, sizeof(pod->uid), mwhat, err, errlen);
	if (!ret)
		ret = copy_str(spec, "nodeName", pod->node, sizeof(pod->node), swhat, err, errlen);
	if (!ret)
		ret = copy_str(status, "podIP", pod->pod_ip, sizeof(pod->pod_ip), stwhat, err,
			       errlen);
	if (!ret)
		ret = copy_str(status, "phase", pod->phase, sizeof(pod->phase), stwhat, err,
			       errlen);
	if (ret)
		return ret;
	if (!pod->name[0]) {
		set_err(err, errlen, "%s: metadata.name missing or empty", what);
		return -EINVAL;
	}
	/* Manifests may omit it; the API server always sets it. */
	if (!pod->namespace_[0])
		strcpy(pod->namespace_, "default");

	ret = get_arr(spec, "containers", &containers, swhat, err, errlen);
	if (!ret)
		ret = get_arr(status, "containerStatuses", &statuses, stwhat, err, errlen);
	if (ret)
		return ret;
	n = containers ? json_array_size(containers) : 0;
	if (n) {
		pod->containers = calloc(n, sizeof(*pod->containers));
		if (!pod->containers) {
			set_err(err, errlen, "%s: out of memory", what);
			return -ENOMEM;
		}
	}
	json_array_foreach (containers, i, c) {
		struct container_meta *cm = &pod->containers[i];

		snprintf(cwhat, sizeof(cwhat), "%s.spec.containers[%zu]", what, i);
		if (!json_is_object(c)) {
			set_err(err, errlen, "%s: expected an object", cwhat);
			return -EINVAL;
		}
		ret = copy_str(c, "name", cm->name, sizeof(cm->name), cwhat, err, errlen);
		if (!ret)
			ret = copy_str(c, "image", cm->image, sizeof(cm->image), cwhat, err,
				       errlen);
		if (ret)
			return ret;
		if (!cm->name[0]) {
			set_err(err, errlen, "%s: name missing or empty", cwhat);
			return -EINVAL;
		}
		pod->container_count++;
	}
	if (statuses)
		return parse_statuses(statuses, pod, stwhat, err, errlen);
	return 0;
}

/* Parse one Pod or every item of a PodList into @out (zeroed by the caller). */
static int parse_root(json_t *root, struct pod_meta_list *out, char *err, size_t errlen)
{
	char kind[32], what[32];
	json_t *items, *item;
	size_t i, n;
	int ret;

	if (!json_is_object(root)) {
		set_err(err, errlen, "expected a JSON object (v1 Pod or PodList)");
		return -EINVAL;
	}
	ret = copy_str(root, "kind", kind, sizeof(kind), "object", err, errlen);
	if (ret)
		return ret;
	if (!strcmp(kind, "Pod")) {
		out->pods = calloc(1, sizeof(*out->pods));
		if (!out->pods) {
			set_err(err, errlen, "out of memory");
			return -ENOMEM;
		}
		out->count = 1;
		return parse_pod(root, &out->pods[0], "Pod", err, errlen);
	}
	if (strcmp(kind, "PodList")) {
		set_err(err, errlen, "kind \"%s\" is neither Pod nor PodList", kind);
		return -EINVAL;
	}
	ret = get_arr(root, "items", &items, "PodList", err, errlen);
	if (ret)
		return ret;
	n = items ? json_array_size(items) : 0;
	if (!n)
		return 0;
	out->pods = calloc(n, sizeof(*out->pods));
	if (!out->pods) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_array_foreach (items, i, item) {
		/* count first, so a failing pod's containers are freed too */
		out->count++;
		snprintf(what, sizeof(what), "items[%zu]", i);
		ret = parse_pod(item, &out->pods[i], what, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Parse a v1 Pod or PodList (@json, @len bytes, need not be NUL-terminated)
 * into @out, which the caller frees with pod_meta_list__free(). Returns 0;
 * -EBADMSG for text that is not JSON (truncated, garbage), -EINVAL for JSON
 * that is not a Pod/PodList or has wrongly typed fields, -ENOMEM. On error
 * @out is empty and @err holds one line.
 */
int podmeta_parse_json(const char *json, size_t len, struct pod_meta_list *out, char *err,
		       size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!json) {
		set_err(err, errlen, "no input");
		return -EINVAL;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		set_err(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line,
			jerr.column, jerr.text);
		return -EBADMSG;
	}
	ret = parse_root(root, out, err, errlen);
	json_decref(root);
	if (ret)
		pod_meta_list__free(out);
	return ret;
}

/*
 * Read @path (a Pod or PodList as JSON) and parse it like
 * podmeta_parse_json(). Returns its errors, or the negative errno of a
 * failed open/read (-EFBIG beyond 256 MiB); messages name the file.
 */
int podmeta_load_file(const char *path, struct pod_meta_list *out, char *err, size_t errlen)
{
	char msg[256];
	struct stat st;
	size_t got = 0;
	char *buf;
	FILE *f;
	int ret;

	memset(out, 0, sizeof(*out));
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		set_err(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fileno(f), &st)) {
		ret = -errno;
		set_err(err, errlen, "%s: %s", path, strerror(-ret));
		fclose(f);
		return ret;
	}
	if (S_ISDIR(st.st_mode) || (size_t)st.st_size > PODMETA_FILE_MAX) {
		ret = S_ISDIR(st.st_mode) ? -EISDIR : -EFBIG;
		set_err(err, errlen, "%s: %s", path, strerror(-ret));
		fclose(f);
		return ret;
	}
	buf = malloc(st.st_size + 1);
	if (!buf) {
		fclose(f);
		set_err(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	got = fread(buf, 1, st.st_size, f);
	if (ferror(f)) {
		ret = -EIO;
		set_err(err, errlen, "%s: read error", path);
		goto out;
	}
	ret = podmeta_parse_json(buf, got, out, msg, sizeof(msg));
	if (ret)
		set_err(err, errlen, "%s: %s", path, msg);
out:
	free(buf);
	fclose(f);
	return ret;
}

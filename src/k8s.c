// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kubernetes API source. Two ways to a client, as kubectl and client-go have
 * them: a kubeconfig (YAML via libyaml; current context → cluster + user;
 * file paths relative to the kubeconfig; *-data fields base64-decoded and
 * handed to libcurl as in-memory blobs) or the in-cluster service account
 * (env + mounted token and CA; the token is re-read as it rotates). The only
 * request is the node-scoped pod list; the body goes to podmeta's parser.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>
#include <yaml.h>

#include "k8s.h"
#include "log.h"

#define KUBECONFIG_MAX	   (16u << 20)
#define TOKEN_FILE_MAX	   (64u << 10)
#define RESPONSE_MAX	   (256u << 20)
#define CONNECT_TIMEOUT_MS 3000L
#define TOTAL_TIMEOUT_MS   10000L

struct k8s_client {
	struct k8s_kubeconfig kc;
	char *describe;
	char *file_token;	  /* last token read from kc.token_file */
	time_t file_token_read_s; /* CLOCK_MONOTONIC seconds */
	unsigned int token_refresh_s;
};

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
 * Read all of @path (at most @max bytes) into a new NUL-terminated buffer.
 * Returns 0, -EFBIG beyond @max, -EISDIR, or the errno of open/read.
 */
static int read_file(const char *path, size_t max, char **out, size_t *outlen)
{
	size_t len = 0, cap = 4096;
	char *buf, *nbuf;
	struct stat st;
	FILE *f;
	int ret = 0;

	*out = NULL;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fstat(fileno(f), &st) && S_ISDIR(st.st_mode)) {
		fclose(f);
		return -EISDIR;
	}
	buf = malloc(cap);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	for (;;) {
		size_t n = fread(buf + len, 1, cap - len - 1, f);

		len += n;
		if (ferror(f)) {
			ret = -EIO;
			break;
		}
		if (feof(f))
			break;
		if (len > max) {
			ret = -EFBIG;
			break;
		}
		if (cap - len - 1 == 0) {
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				ret = -ENOMEM;
				break;
			}
			buf = nbuf;
			cap *= 2;
		}
	}
	fclose(f);
	if (!ret && len > max)
		ret = -EFBIG;
	if (ret) {
		free(buf);
		return ret;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

static int b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

int k8s_base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned int acc = 0;
	size_t i, n = 0, pad = 0, bits = 0, chars = 0;
	unsigned char *buf;
	int v;

	*out = NULL;
	*outlen = 0;
	buf = malloc(len / 4 * 3 + 4);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		unsigned char ch = in[i];

		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
			continue;
		if (ch == '=') {
			pad++;
			continue;
		}
		v = b64_value(ch);
		if (v < 0 || pad)
			goto bad;
		chars++;
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (acc >> bits) & 0xff;
		}
	}
	/* 1 leftover char cannot encode a byte; padding must complete a quantum */
	if (chars % 4 == 1 || pad > 2 || (pad && (chars + pad) % 4))
		goto bad;
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

/* --- kubeconfig -------------------------------------------------------------- */

void k8s_kubeconfig__free(struct k8s_kubeconfig *kc)
{
	if (!kc)
		return;
	free(kc->context);
	free(kc->cluster);
	free(kc->user);
	free(kc->namespace_);
	free(kc->server);
	free(kc->ca_file);
	free(kc->ca_data);
	free(kc->cert_file);
	free(kc->cert_data);
	free(kc->key_file);
	free(kc->key_data);
	free(kc->token);
	free(kc->token_file);
	memset(kc, 0, sizeof(*kc));
}

/* Parsing state: the document, and where errors go. */
struct kc_parse {
	yaml_document_t *doc;
	const char *base_dir;
	char *err;
	size_t errlen;
};

/* Value node of @key in mapping @map; NULL when @map is not a mapping or lacks it. */
static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pair;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(doc, pair->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, key))
			return yaml_document_get_node(doc, pair->value);
	}
	return NULL;
}

/* A plain ~, null or empty scalar is YAML's null. */
static bool node_is_null(yaml_node_t *n)
{
	const char *v;

	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcasecmp(v, "null");
}

/*
 * The string value of @key in @map (NULL when absent or null). -EINVAL when
 * present but not a scalar; @what names the enclosing object in the message.
 */
static int get_scalar(struct kc_parse *p, yaml_node_t *map, const char *key, const char *what,
		      const char **out)
{
	yaml_node_t *n = map_get(p->doc, map, key);

	*out = NULL;
	if (node_is_null(n))
		return 0;
	if (n->type != YAML_SCALAR_NODE) {
		set_err(p->err, p->errlen, "kubeconfig: %s: %s: expected a string", what, key);
		return -EINVAL;
	}
	*out = (const char *)n->data.scalar.value;
	return 0;
}

/* Duplicate the string value of @key (NULL stays NULL). */
static int dup_scalar(struct kc_parse *p, yaml_node_t *map, const char *key, const char *what,
		      char **out)
{
	const char *v;
	int ret = get_scalar(p, map, key, what, &v);

	*out = NULL;
	if (ret || !v)
		return ret;
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

/* A path field: duplicated, and made absolute against the kubeconfig's directory. */
static int dup_path(struct kc_parse *p, yaml_node_t *map, const char *key, const char *what,
		    char **out)
{
	const char *v;
	int ret = get_scalar(p, map, key, what, &v);

	*out = NULL;
	if (ret || !v)
		return ret;
	if (v[0] == '/' || !p->base_dir)
		*out = strdup(v);
	else if (asprintf(out, "%s/%s", p->base_dir, v) < 0)
		*out = NULL;
	return *out ? 0 : -ENOMEM;
}

/* A *-data field: base64-decoded. */
static int dup_data(struct kc_parse *p, yaml_node_t *map, const char *key, const char *what,
		    unsigned char **out, size_t *outlen)
{
	const char *v;
	int ret = get_scalar(p, map, key, what, &v);

	*out = NULL;
	*outlen = 0;
	if (ret || !v)
		return ret;
	ret = k8s_base64_decode(v, strlen(v), out, outlen);
	if (ret == -EINVAL)
		set_err(p->err, p->errlen, "kubeconfig: %s: %s is not valid base64", what, key);
	return ret;
}

/* YAML 1.1 booleans as go-yaml reads them; absent is false. */
static int get_bool(struct kc_parse *p, yaml_node_t *map, const char *key, const char *what,
		    bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "y"};
	static const char *const no[] = {"false", "no", "off", "n"};
	const char *v;
	size_t i;
	int ret = get_scalar(p, map, key, what, &v);

	*out = false;
	if (ret || !v)
		return ret;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(v, no[i]))
			return 0;
	}
	set_err(p->err, p->errlen, "kubeconfig: %s: %s: \"%.40s\" is not a boolean", what, key, v);
	return -EINVAL;
}

/*
 * In the sequence @list_key of the root ("contexts", "clusters", "users"),
 * the entry whose name is @name; its @inner_key mapping goes to *@out.
 */
static int find_named(struct kc_parse *p, yaml_node_t *root, const char *list_key,
		      const char *inner_key, const char *name, yaml_node_t **out)
{
	yaml_node_t *list = map_get(p->doc, root, list_key), *entry, *inner;
	yaml_node_item_t *it;
	const char *ename;

	*out = NULL;
	if (list && !node_is_null(list) && list->type != YAML_SEQUENCE_NODE) {
		set_err(p->err, p->errlen, "kubeconfig: %s: expected a list", list_key);
		return -EINVAL;
	}
	if (list && list->type == YAML_SEQUENCE_NODE) {
		for (it = list->data.sequence.items.start; it < list->data.sequence.items.top;
		     it++) {
			entry = yaml_document_get_node(p->doc, *it);
			if (!entry || entry->type != YAML_MAPPING_NODE) {
				set_err(p->err, p->errlen, "kubeconfig: %s: entries must be maps",
					list_key);
				return -EINVAL;
			}
			if (get_scalar(p, entry, "name", list_key, &ename))
				return -EINVAL;
			if (!ename || strcmp(ename, name))
				continue;
			inner = map_get(p->doc, entry, inner_key);
			if (!inner || inner->type != YAML_MAPPING_NODE) {
				set_err(p->err, p->errlen, "kubeconfig: %s \"%s\" has no %s map",
					inner_key, name, inner_key);
				return -EINVAL;
			}
			*out = inner;
			return 0;
		}
	}
	set_err(p->err, p->errlen, "kubeconfig: no %s named \"%s\"", inner_key, name);
	return -ENOENT;
}

static int parse_cluster(struct kc_parse *p, yaml_node_t *cl, struct k8s_kubeconfig *kc)
{
	const char *what = kc->cluster;
	int ret;

	ret = dup_scalar(p, cl, "server", what, &kc->server);
	if (!ret)
		ret = dup_path(p, cl, "certificate-authority", what, &kc->ca_file);
	if (!ret)
		ret = dup_data(p, cl, "certificate-authority-data", what, &kc->ca_data,
			       &kc->ca_data_len);
	if (!ret)
		ret = get_bool(p, cl, "insecure-skip-tls-verify", what,
			       &kc->insecure_skip_tls_verify);
	if (ret)
		return ret;
	if (!kc->server || strncmp(kc->server, "http", 4)) {
		set_err(p->err, p->errlen, "kubeconfig: cluster \"%s\": %s", what,
			kc->server ? "server is not an http(s) URL" : "no server");
		return -EINVAL;
	}
	return 0;
}

static int parse_user(struct kc_parse *p, yaml_node_t *u, struct k8s_kubeconfig *kc)
{
	const char *what = kc->user;
	int ret;

	ret = dup_path(p, u, "client-certificate", what, &kc->cert_file);
	if (!ret)
		ret = dup_data(p, u, "client-certificate-data", what, &kc->cert_data,
			       &kc->cert_data_len);
	if (!ret)
		ret = dup_path(p, u, "client-key", what, &kc->key_file);
	if (!ret)
		ret = dup_data(p, u, "client-key-data", what, &kc->key_data, &kc->key_data_len);
	if (!ret)
		ret = dup_scalar(p, u, "token", what, &kc->token);
	if (!ret)
		ret = dup_path(p, u, "tokenFile", what, &kc->token_file);
	if (ret)
		return ret;
	if (!!(kc->cert_file || kc->cert_data) != !!(kc->key_file || kc->key_data)) {
		set_err(p->err, p->errlen,
			"kubeconfig: user \"%s\": client certificate and key must come together",
			what);
		return -EINVAL;
	}
	if (!kc->cert_file && !kc->cert_data && !kc->token && !kc->token_file &&
	    (map_get(p->doc, u, "exec") || map_get(p->doc, u, "auth-provider"))) {
		set_err(p->err, p->errlen,
			"kubeconfig: user \"%s\" authenticates through exec/auth-provider, which "
			"podscope does not run; use a token or client certificate",
			what);
		return -ENOTSUP;
	}
	return 0;
}

static int parse_doc(struct kc_parse *p, const char *context, struct k8s_kubeconfig *kc)
{
	yaml_node_t *root = yaml_document_get_root_node(p->doc), *ctx, *cl, *u;
	const char *kind, *name;
	int ret;

	if (!root || root->type != YAML_MAPPING_NODE) {
		set_err(p->err, p->errlen, "kubeconfig: not a YAML map");
		return -EBADMSG;
	}
	ret = get_scalar(p, root, "kind", "top level", &kind);
	if (ret)
		return -EBADMSG;
	if (kind && strcmp(kind, "Config")) {
		set_err(p->err, p->errlen, "kubeconfig: kind is \"%.40s\", not Config", kind);
		return -EBADMSG;
	}
	if (context) {
		name = context;
	} else {
		ret = get_scalar(p, root, "current-context", "top level", &name);
		if (ret)
			return ret;
		if (!name) {
			set_err(p->err, p->errlen, "kubeconfig: no current-context");
			return -ENOENT;
		}
	}
	kc->context = strdup(name);
	if (!kc->context)
		return -ENOMEM;
	ret = find_named(p, root, "contexts", "context", name, &ctx);
	if (!ret)
		ret = dup_scalar(p, ctx, "cluster", name, &kc->cluster);
	if (!ret)
		ret = dup_scalar(p, ctx, "user", name, &kc->user);
	if (!ret)
		ret = dup_scalar(p, ctx, "namespace", name, &kc->namespace_);
	if (ret)
		return ret;
	if (!kc->cluster) {
		set_err(p->err, p->errlen, "kubeconfig: context \"%s\" names no cluster", name);
		return -EINVAL;
	}
	ret = find_named(p, root, "clusters", "cluster", kc->cluster, &cl);
	if (!ret)
		ret = parse_cluster(p, cl, kc);
	if (ret || !kc->user)
		return ret;
	ret = find_named(p, root, "users", "user", kc->user, &u);
	if (!ret)
		ret = parse_user(p, u, kc);
	return ret;
}

int k8s_kubeconfig_parse(const char *yaml, size_t len, const char *base_dir, const char *context,
			 struct k8s_kubeconfig *out, char *err, size_t errlen)
{
	struct kc_parse p = {.base_dir = base_dir, .err = err, .errlen = errlen};
	yaml_parser_t parser;
	yaml_document_t doc;
	int ret;

	memset(out, 0, sizeof(*out));
	set_err(err, errlen, "kubeconfig: out of memory");
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		set_err(err, errlen, "kubeconfig: invalid YAML at line %zu: %s",
			parser.problem_mark.line + 1,
			parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		return -EBADMSG;
	}
	p.doc = &doc;
	ret = parse_doc(&p, context, out);
	if (ret == -ENOMEM)
		set_err(err, errlen, "kubeconfig: out of memory");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (ret)
		k8s_kubeconfig__free(out);
	return ret;
}

/* --- client ------------------------------------------------------------------ */

static time_t monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Read the token file into c->file_token (whitespace trimmed); keep the old on failure. */
static int client_read_token(struct k8s_client *c)
{
	char *buf, *end;
	size_t len;
	int ret;

	ret = read_file(c->kc.token_file, TOKEN_FILE_MAX, &buf, &len);
	if (ret)
		return ret;
	for (end = buf + len; end > buf && strchr(" \t\r\n", end[-1]); end--)
		;
	*end = '\0';
	if (!*buf || strpbrk(buf, "\r\n")) {
		free(buf);
		return -EINVAL;
	}
	free(c->file_token);
	c->file_token = buf;
	c->file_token_read_s = monotonic_s();
	return 0;
}

const char *k8s_client__token(struct k8s_client *c)
{
	int ret;

	if (!c->kc.token_file)
		return c->kc.token;
	if (!c->file_token || monotonic_s() - c->file_token_read_s >= (time_t)c->token_refresh_s) {
		ret = client_read_token(c);
		if (ret && c->file_token)
			pr_warn("k8s: re-reading token %s: %s; keeping the previous token\n",
				c->kc.token_file, strerror(-ret));
	}
	return c->file_token ? c->file_token : c->kc.token;
}

void k8s_client__set_token_refresh(struct k8s_client *c, unsigned int seconds)
{
	c->token_refresh_s = seconds;
}

const char *k8s_client__describe(const struct k8s_client *c)
{
	return c->describe;
}

void k8s_client__free(struct k8s_client *c)
{
	if (!c)
		return;
	k8s_kubeconfig__free(&c->kc);
	free(c->describe);
	free(c->file_token);
	free(c);
}

/* Check every file the client will use now, so a typo is reported at start. */
static int client_check_files(struct k8s_client *c, const char *origin, char *err, size_t errlen)
{
	const struct {
		const char *what, *path;
	} files[] = {
		{"certificate-authority", c->kc.ca_file},
		{"client-certificate", c->kc.cert_file},
		{"client-key", c->kc.key_file},
	};
	size_t i;
	int ret;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (files[i].path && access(files[i].path, R_OK)) {
			ret = -errno;
			set_err(err, errlen, "%s: %s %s: %s", origin, files[i].what, files[i].path,
				strerror(-ret));
			return ret;
		}
	}
	if (c->kc.token_file) {
		ret = client_read_token(c);
		if (ret) {
			set_err(err, errlen, "%s: token file %s: %s", origin, c->kc.token_file,
				ret == -EINVAL ? "empty or not one line" : strerror(-ret));
			return ret;
		}
	}
	return 0;
}

struct k8s_client *k8s_client__from_kubeconfig(const char *path, const char *context, char *err,
					       size_t errlen)
{
	char *text = NULL, *dir = NULL, *defpath = NULL, msg[384];
	struct k8s_client *c = NULL;
	const char *env, *slash;
	size_t len;
	int ret;

	if (!path) {
		env = getenv("KUBECONFIG");
		if (env && *env)
			defpath = strndup(env, strcspn(env, ":"));
		else if ((env = getenv("HOME")) && *env &&
			 asprintf(&defpath, "%s/.kube/config", env) < 0)
			defpath = NULL;
		if (!defpath) {
			set_err(err, errlen,
				"kubeconfig: no path given, $KUBECONFIG and $HOME unset");
			errno = ENOENT;
			return NULL;
		}
		path = defpath;
	}
	ret = read_file(path, KUBECONFIG_MAX, &text, &len);
	if (ret) {
		set_err(err, errlen, "kubeconfig %s: %s", path, strerror(-ret));
		goto fail;
	}
	slash = strrchr(path, '/');
	dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	c = calloc(1, sizeof(*c));
	if (!dir || !c) {
		ret = -ENOMEM;
		set_err(err, errlen, "kubeconfig %s: out of memory", path);
		goto fail;
	}
	c->token_refresh_s = K8S_TOKEN_REFRESH_S;
	ret = k8s_kubeconfig_parse(text, len, dir, context, &c->kc, msg, sizeof(msg));
	if (ret) {
		/* messages start with "kubeconfig: " */
		set_err(err, errlen, "kubeconfig %s:%s", path,
			strncmp(msg, "kubeconfig:", 11) ? msg : msg + 11);
		goto fail;
	}
	ret = client_check_files(c, path, err, errlen);
	if (ret)
		goto fail;
	if (asprintf(&c->describe, "kubeconfig %s (context %s, %s)", path, c->kc.context,
		     c->kc.server) < 0) {
		c->describe = NULL;
		ret = -ENOMEM;
		set_err(err, errlen, "kubeconfig %s: out of memory", path);
		goto fail;
	}
	free(text);
	free(dir);
	free(defpath);
	return c;
fail:
	k8s_client__free(c);
	free(text);
	free(dir);
	free(defpath);
	errno = -ret;
	return NULL;
}

struct k8s_client *k8s_client__in_cluster(const char *sa_dir, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	struct k8s_client *c;
	char *ns = NULL;
	size_t len;
	int ret;

	if (!sa_dir)
		sa_dir = getenv("PODSCOPE_SA_DIR");
	if (!sa_dir || !*sa_dir)
		sa_dir = K8S_SA_DIR_DEFAULT;
	if (!host || !*host) {
		set_err(err, errlen,
			"in-cluster: KUBERNETES_SERVICE_HOST is not set (not in a pod?)");
		errno = ENOENT;
		return NULL;
	}
	if (!port || !*port)
		port = "443";
	if (strspn(port, "0123456789") != strlen(port) || strpbrk(host, "/?#@ ")) {
		set_err(err, errlen, "in-cluster: bad KUBERNETES_SERVICE_HOST/PORT");
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto nomem;
	c->token_refresh_s = K8S_TOKEN_REFRESH_S;
	if (asprintf(&c->kc.server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		     port) < 0)
		c->kc.server = NULL;
	if (asprintf(&c->kc.ca_file, "%s/ca.crt", sa_dir) < 0)
		c->kc.ca_file = NULL;
	if (asprintf(&c->kc.token_file, "%s/token", sa_dir) < 0)
		c->kc.token_file = NULL;
	if (!c->kc.server || !c->kc.ca_file || !c->kc.token_file)
		goto nomem;
	ret = client_check_files(c, "in-cluster", err, errlen);
	if (ret) {
		k8s_client__free(c);
		errno = -ret;
		return NULL;
	}
	/* optional: the pod's own namespace */
	if (asprintf(&ns, "%s/namespace", sa_dir) >= 0) {
		if (read_file(ns, 4096, &c->kc.namespace_, &len))
			c->kc.namespace_ = NULL;
		free(ns);
	}
	if (asprintf(&c->describe, "in-cluster (%s, service account %s)", c->kc.server, sa_dir) <
	    0) {
		c->describe = NULL;
		goto nomem;
	}
	return c;
nomem:
	k8s_client__free(c);
	set_err(err, errlen, "in-cluster: out of memory");
	errno = ENOMEM;
	return NULL;
}

/* --- requests ---------------------------------------------------------------- */

struct body {
	char *buf;
	size_t len;
};

static size_t body_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct body *b = userdata;
	size_t n = size * nmemb;
	char *nbuf;

	if (b->len + n > RESPONSE_MAX)
		return 0; /* CURLE_WRITE_ERROR */
	nbuf = realloc(b->buf, b->len + n + 1);
	if (!nbuf)
		return 0;
	memcpy(nbuf + b->len, data, n);
	b->buf = nbuf;
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

static int curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_WRITE_ERROR:
		return -EFBIG;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CLIENTCERT:
		return -EPROTO;
	default:
		return -EIO;
	}
}

static void set_blob(CURL *h, CURLoption opt, unsigned char *data, size_t len)
{
	struct curl_blob blob = {.data = data, .len = len, .flags = CURL_BLOB_COPY};

	curl_easy_setopt(h, opt, &blob);
}

/* A handle with the client's TLS settings and timeouts; NULL on out of memory. */
static CURL *client_handle(struct k8s_client *c, char *errbuf)
{
	const struct k8s_kubeconfig *kc = &c->kc;
	CURL *h = curl_easy_init();

	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	if (kc->insecure_skip_tls_verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (kc->ca_data || kc->ca_file) {
		/* trust the cluster's CA only, not the system bundle */
		curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
		if (kc->ca_data)
			set_blob(h, CURLOPT_CAINFO_BLOB, kc->ca_data, kc->ca_data_len);
		else
			curl_easy_setopt(h, CURLOPT_CAINFO, kc->ca_file);
	}
	if (kc->cert_data)
		set_blob(h, CURLOPT_SSLCERT_BLOB, kc->cert_data, kc->cert_data_len);
	else if (kc->cert_file)
		curl_easy_setopt(h, CURLOPT_SSLCERT, kc->cert_file);
	if (kc->cert_data || kc->cert_file)
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	if (kc->key_data)
		set_blob(h, CURLOPT_SSLKEY_BLOB, kc->key_data, kc->key_data_len);
	else if (kc->key_file)
		curl_easy_setopt(h, CURLOPT_SSLKEY, kc->key_file);
	return h;
}

int k8s_parse_status(const char *json, size_t len, char *msg, size_t msglen)
{
	json_t *root = json_loadb(json, len, 0, NULL), *kind, *m;
	int ret = -EINVAL;

	if (msglen)
		msg[0] = '\0';
	if (!root)
		return -EINVAL;
	kind = json_object_get(root, "kind");
	if (json_is_string(kind) && !strcmp(json_string_value(kind), "Status")) {
		m = json_object_get(root, "message");
		if (!json_is_string(m) || !*json_string_value(m))
			m = json_object_get(root, "reason");
		if (json_is_string(m)) {
			set_err(msg, msglen, "%s", json_string_value(m));
			ret = 0;
		}
	}
	json_decref(root);
	return ret;
}

static int http_status_errno(long status)
{
	switch (status) {
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	default:
		return -EIO;
	}
}

int k8s_client__list_pods(struct k8s_client *c, const char *node_name, struct pod_meta_list *out,
			  char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "", smsg[256], pmsg[256], *url = NULL, *sel = NULL,
	     *auth = NULL;
	struct curl_slist *hdrs = NULL, *h2;
	struct body body = {0};
	const char *token;
	size_t slen;
	long status = 0;
	CURLcode rc;
	CURL *h;
	int ret;

	memset(out, 0, sizeof(*out));
	h = client_handle(c, errbuf);
	if (!h) {
		set_err(err, errlen, "k8s: out of memory");
		return -ENOMEM;
	}
	slen = strlen(c->kc.server);
	while (slen && c->kc.server[slen - 1] == '/')
		slen--;
	if (node_name) {
		if (asprintf(&sel, "spec.nodeName=%s", node_name) < 0)
			sel = NULL;
		url = NULL;
		if (sel) {
			char *esc = curl_easy_escape(h, sel, 0);

			if (esc && asprintf(&url, "%.*s/api/v1/pods?fieldSelector=%s", (int)slen,
					    c->kc.server, esc) < 0)
				url = NULL;
			curl_free(esc);
		}
	} else if (asprintf(&url, "%.*s/api/v1/pods", (int)slen, c->kc.server) < 0) {
		url = NULL;
	}
	token = k8s_client__token(c);
	if (token && asprintf(&auth, "Authorization: Bearer %s", token) < 0)
		auth = NULL;
	hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (!url || !hdrs || (token && !auth)) {
		ret = -ENOMEM;
		set_err(err, errlen, "k8s: out of memory");
		goto out;
	}
	if (auth) {
		h2 = curl_slist_append(hdrs, auth);
		if (!h2) {
			ret = -ENOMEM;
			set_err(err, errlen, "k8s: out of memory");
			goto out;
		}
		hdrs = h2;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);

	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		ret = curl_errno(rc);
		set_err(err, errlen, "k8s: GET %s: %s", url,
			rc == CURLE_WRITE_ERROR ? "response too large"
			: errbuf[0]		? errbuf
						: curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		ret = http_status_errno(status);
		if (body.buf && !k8s_parse_status(body.buf, body.len, smsg, sizeof(smsg)))
			set_err(err, errlen, "k8s: GET %s: HTTP %ld: %s", url, status, smsg);
		else
			set_err(err, errlen, "k8s: GET %s: HTTP %ld", url, status);
		goto out;
	}
	ret = podmeta_parse_json(body.buf ? body.buf : "", body.len, out, pmsg, sizeof(pmsg));
	if (ret)
		set_err(err, errlen, "k8s: GET %s: bad response: %s", url, pmsg);
	else
		pr_debug("k8s: %d pods from %s\n", out->count, url);
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	free(body.buf);
	free(url);
	free(sel);
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	return ret;
}

int k8s_default_node_name(char *buf, size_t len)
{
	const char *env = getenv("NODE_NAME");

	if (!len)
		return -EINVAL;
	if (env && *env) {
		if (strlen(env) >= len)
			return -ENAMETOOLONG;
		strcpy(buf, env);
		return 0;
	}
	if (gethostname(buf, len))
		return -errno;
	buf[len - 1] = '\0';
	return 0;
}

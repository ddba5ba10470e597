/*
 * Test support: a WebSocket client over TLS (see ws.h). Blocking socket,
 * poll() for time limits; frames from the server are never masked, ours
 * always are (RFC 6455 5.1).
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ws.h"

#define WS_KEY		"dGhlIHNhbXBsZSBub25jZQ=="
#define WS_ACCEPT	"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define WS_PROTOCOL_BEARER	"sec-websocket-protocol: bearer\r\n"

static int	ws_open_with(struct ws_client *, const char *, const char *,
		    const char *, int, const char *, const char *, char **);

double
ws_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6);
}

/* Reads more bytes into the buffer; 0 on timeout, -1 on close/error. */
static int
ws_fill(struct ws_client *ws, int timeout_ms)
{
	struct pollfd	pfd;
	int		n;

	if (SSL_pending(ws->ssl) == 0) {
		pfd.fd = ws->fd;
		pfd.events = POLLIN;
		n = poll(&pfd, 1, timeout_ms);
		if (n == 0)
			return (0);
		if (n < 0)
			return (-1);
	}

	if (ws->cap - ws->len < 16384) {
		ws->cap = ws->cap * 2 + 16384;
		ws->buf = realloc(ws->buf, ws->cap);
		if (ws->buf == NULL)
			abort();
	}

	n = SSL_read(ws->ssl, ws->buf + ws->len, ws->cap - ws->len);
	if (n <= 0)
		return (-1);
	ws->len += n;

	return (1);
}

static void
ws_consume(struct ws_client *ws, size_t n)
{
	memmove(ws->buf, ws->buf + n, ws->len - n);
	ws->len -= n;
}

static void
ws_send_frame(struct ws_client *ws, int op, const void *data, size_t len)
{
	unsigned char	frame[2 + 4 + 125];
	const unsigned char *d = data;
	size_t		i;

	if (len > 125)
		len = 125;
	frame[0] = 0x80 | op;
	frame[1] = 0x80 | len;
	memcpy(frame + 2, "\x01\x02\x03\x04", 4);
	for (i = 0; i < len; i++)
		frame[6 + i] = d[i] ^ frame[2 + (i % 4)];
	(void)SSL_write(ws->ssl, frame, 6 + len);
}

int
ws_open(struct ws_client *ws, const char *base, const char *path,
    const char *src, int rcvbuf, const char *token, char **body)
{
	return (ws_open_with(ws, base, path, src, rcvbuf,
	    token != NULL ? "Authorization: Bearer " : "", token, body));
}

/* As a browser does: the token as the subprotocols "bearer, <token>". */
int
ws_open_browser(struct ws_client *ws, const char *base, const char *path,
    const char *token, char **body)
{
	return (ws_open_with(ws, base, path, NULL, 0,
	    "Sec-WebSocket-Protocol: bearer, ", token, body));
}

/* The upgrade, with the header line `auth`<token> when token is set. */
static int
ws_open_with(struct ws_client *ws, const char *base, const char *path,
    const char *src, int rcvbuf, const char *auth, const char *token,
    char **body)
{
	struct sockaddr_in	sin, from;
	const char		*p;
	char			*req, *end;
	int			port, status, one;
	size_t			hlen;
	double			deadline;

	memset(ws, 0, sizeof(*ws));
	ws->fd = -1;
	if (body != NULL)
		*body = NULL;

	if ((p = strrchr(base, ':')) == NULL)
		return (-1);
	port = atoi(p + 1);

	if ((ws->fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return (-1);
	one = 1;
	(void)setsockopt(ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (rcvbuf > 0)
		(void)setsockopt(ws->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	if (src != NULL) {
		memset(&from, 0, sizeof(from));
		from.sin_family = AF_INET;
		inet_pton(AF_INET, src, &from.sin_addr);
		if (bind(ws->fd, (struct sockaddr *)&from, sizeof(from)) == -1)
			return (-1);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (connect(ws->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		return (-1);

	if ((ws->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return (-1);
	SSL_CTX_set_verify(ws->ctx, SSL_VERIFY_NONE, NULL);
	if ((ws->ssl = SSL_new(ws->ctx)) == NULL)
		return (-1);
	SSL_set_fd(ws->ssl, ws->fd);
	if (SSL_connect(ws->ssl) != 1)
		return (-1);

	if (asprintf(&req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " WS_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n", path, port,
	    token != NULL ? auth : "",
	    token != NULL ? token : "", token != NULL ? "\r\n" : "") == -1)
		return (-1);
	if (SSL_write(ws->ssl, req, strlen(req)) <= 0) {
		free(req);
		return (-1);
	}
	free(req);

	/* Headers, then for a refusal its (small) body. */
	deadline = ws_now_ms() + 10000;
	for (;;) {
		if (ws->len > 0 && (end = memmem(ws->buf, ws->len, "\r\n\r\n",
		    4)) != NULL)
			break;
		if (ws_now_ms() > deadline || ws_fill(ws, 1000) < 0)
			return (-1);
	}
	hlen = (unsigned char *)end - ws->buf + 4;
	if (sscanf((char *)ws->buf, "HTTP/1.1 %d", &status) != 1)
		return (-1);

	if (status == 101) {
		if (memmem(ws->buf, hlen, WS_ACCEPT, strlen(WS_ACCEPT)) ==
		    NULL)
			return (-1);
		ws->protocol_bearer = memmem(ws->buf, hlen,
		    WS_PROTOCOL_BEARER, strlen(WS_PROTOCOL_BEARER)) != NULL;
		ws_consume(ws, hlen);
		return (101);
	}

	if (body != NULL) {
		while (ws_now_ms() < deadline && ws_fill(ws, 200) > 0)
			;
		*body = calloc(1, ws->len - hlen + 1);
		memcpy(*body, ws->buf + hlen, ws->len - hlen);
	}
	return (status);
}

/* The server's close frame: its status code and reason, and our answer. */
static void
ws_closed_by_server(struct ws_client *ws, const unsigned char *p,
    uint64_t len)
{
	size_t	n;

	if (len >= 2) {
		ws->close_code = (p[0] << 8) | p[1];
		n = len - 2 < sizeof(ws->close_reason) - 1 ? len - 2 :
		    sizeof(ws->close_reason) - 1;
		memcpy(ws->close_reason, p + 2, n);
		ws->close_reason[n] = '\0';
	}
	ws_send_frame(ws, 0x8, p, len >= 2 ? 2 : 0);
	ws->closed = 1;
}

char *
ws_recv(struct ws_client *ws, int timeout_ms)
{
	double		deadline;
	uint64_t	plen;
	size_t		hdr;
	int		op, left;
	char		*msg;
	unsigned char	*b;

	deadline = ws_now_ms() + timeout_ms;
	while (!ws->closed) {
		b = ws->buf;
		if (ws->len >= 2) {
			op = b[0] & 0x0f;
			plen = b[1] & 0x7f;
			hdr = 2;
			if (plen == 126 && ws->len >= 4) {
				plen = ((uint64_t)b[2] << 8) | b[3];
				hdr = 4;
			} else if (plen == 127 && ws->len >= 10) {
				plen = 0;
				for (hdr = 2; hdr < 10; hdr++)
					plen = (plen << 8) | b[hdr];
			} else if (plen >= 126) {
				hdr = 0;
			}
			if (hdr > 0 && ws->len >= hdr + plen) {
				msg = NULL;
				if (op == 0x1) {
					msg = malloc(plen + 1);
					memcpy(msg, b + hdr, plen);
					msg[plen] = '\0';
				} else if (op == 0x9) {
					ws_send_frame(ws, 0xA, b + hdr, plen);
					ws->pings++;
				} else if (op == 0x8) {
					ws_closed_by_server(ws, b + hdr, plen);
				}
				ws_consume(ws, hdr + plen);
				if (msg != NULL)
					return (msg);
				continue;
			}
		}
		left = (int)(deadline - ws_now_ms());
		if (left <= 0)
			return (NULL);
		if (ws_fill(ws, left) < 0)
			ws->closed = 1;
	}

	return (NULL);
}

long
ws_ping_flood(struct ws_client *ws, long count, int timeout_ms)
{
	enum { PER_WRITE = 120, FRAME = 6 + 125 };
	static unsigned char	chunk[PER_WRITE * FRAME];
	struct timeval		tv;
	unsigned char		*f;
	long			sent;
	int			i, j, n;

	for (i = 0; i < PER_WRITE; i++) {
		f = chunk + i * FRAME;
		f[0] = 0x80 | 0x9;
		f[1] = 0x80 | 125;
		memcpy(f + 2, "\x01\x02\x03\x04", 4);
		for (j = 0; j < 125; j++)
			f[6 + j] = 'p' ^ f[2 + (j % 4)];
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	(void)setsockopt(ws->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	for (sent = 0; sent < count; sent += n) {
		n = count - sent < PER_WRITE ? (int)(count - sent) : PER_WRITE;
		if (SSL_write(ws->ssl, chunk, n * FRAME) != n * FRAME)
			break;
	}

	return (sent);
}

void
ws_close(struct ws_client *ws)
{
	if (ws->ssl != NULL) {
		if (!ws->closed)
			ws_send_frame(ws, 0x8, NULL, 0);
		SSL_free(ws->ssl);
	}
	if (ws->ctx != NULL)
		SSL_CTX_free(ws->ctx);
	if (ws->fd != -1)
		close(ws->fd);
	free(ws->buf);
	memset(ws, 0, sizeof(*ws));
	ws->fd = -1;
}

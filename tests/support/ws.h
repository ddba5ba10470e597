/*
 * Test support: a minimal WebSocket client over TLS (OpenSSL), enough to
 * read the live seat map: the upgrade, text frames from the server, pongs
 * to its pings, and a clean close.
 */
#ifndef __H_TEST_WS_H
#define __H_TEST_WS_H

#include <openssl/ssl.h>

#include <stddef.h>

struct ws_client {
	int		fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	unsigned char	*buf;
	size_t		len;
	size_t		cap;
	int		closed;
	int		pings;		/* pings answered */
	int		close_code;	/* the server's close frame's, or 0 */
	char		close_reason[64];
	int		protocol_bearer; /* the 101 chose subprotocol bearer */
};

/*
 * Upgrade GET path at base (https://127.0.0.1:port), from the loopback
 * source address src (NULL: any), with a receive buffer of rcvbuf bytes
 * (0: the system's; small makes a slow reader), with a Bearer token (or
 * NULL). Returns the HTTP status
 * (101 when upgraded, else -1 on a connection failure); *body, when not
 * NULL, receives the body of a refusal.
 */
int	ws_open(struct ws_client *, const char *, const char *, const char *,
	    int, const char *, char **);
/* ws_open as a browser must: the token as subprotocols "bearer, <token>". */
int	ws_open_browser(struct ws_client *, const char *, const char *,
	    const char *, char **);
/*
 * The next text frame within timeout_ms, or NULL (timeout, close). A
 * close frame from the server is answered, and its code and reason kept.
 */
char	*ws_recv(struct ws_client *, int);
void	ws_close(struct ws_client *);
/*
 * Sends up to count pings of 125 bytes, reading nothing, each write
 * bounded by timeout_ms. Returns how many went out before the connection
 * failed (count when it never did).
 */
long	ws_ping_flood(struct ws_client *, long, int);

/* Monotonic milliseconds. */
double	ws_now_ms(void);

#endif

/*
 * admin: command-line account administration (`booking admin EMAIL`,
 * `booking hash-password`). Runs outside the server; blocking is fine.
 */
#ifndef __H_ADMIN_H
#define __H_ADMIN_H

int	admin_promote(const char *, const char *);
int	admin_hash_password(void);

#endif

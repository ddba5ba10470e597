/*
 * commands: command-line account administration (`booking admin EMAIL`,
 * `booking hash-password`). Runs outside the server; blocking is fine.
 */
#ifndef __H_COMMANDS_H
#define __H_COMMANDS_H

int	commands_promote(const char *, const char *);
int	commands_hash_password(void);

#endif

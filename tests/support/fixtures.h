/*
 * Test fixtures: catalog rows made directly in the database, so a test
 * owns its data and never depends on the seed's ids.
 */
#ifndef __H_TEST_FIXTURES_H
#define __H_TEST_FIXTURES_H

long long	fx_movie(const char *, int);
long long	fx_theatre(const char *, const char *, const char *);
long long	fx_screen(long long, const char *);
long long	fx_show(long long, long long, const char *);
char		*fx_unique(const char *);
long long	fx_big_show(int, const char *);

#endif

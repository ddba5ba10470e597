/*
 * sweep: the periodic clean-up of old holds (see sweep.c). Call
 * sweep_worker_init() from kore_worker_configure(); it arms a timer in
 * the first worker only.
 */
#ifndef __H_SWEEP_H
#define __H_SWEEP_H

void	sweep_worker_init(void);

#endif

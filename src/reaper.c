#include "reaper.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "util.h"

/* A seize that takes longer than this is waiting for cred_guard_mutex. */
#define REAPER_GRACE_NS (1000ull * 1000)
#define REAPER_NAP_NS (250ull * 1000)

struct reaper {
	const struct tracee_ops *ops;
	pid_t pid;
	pthread_t thread;
	/* it sleeps until a seize begins (reaper_enter), then in naps while
	 * one lasts, and wakes at once when told to stop (reaper_stop): it
	 * takes no CPU from the target's threads meanwhile, and no nap is
	 * waited out */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	bool idle;       /* in the wait for a seize: reaper_enter wakes it */
	atomic_uint_fast64_t seize_since; /* 0: not in a seize */
	atomic_uint reaped;
};

static void reap_pass(struct reaper *rp)
{
	int n = rp->ops->reap_exited_threads(rp->pid);
	if (n > 0)
		atomic_fetch_add(&rp->reaped, (unsigned)n);
}

static void *reaper_main(void *arg)
{
	struct reaper *rp = arg;
	pthread_mutex_lock(&rp->lock);
	while (!rp->stop) {
		uint64_t since = atomic_load(&rp->seize_since);
		if (!since) {
			rp->idle = true;
			pthread_cond_wait(&rp->wake, &rp->lock);
			rp->idle = false;
			continue;
		}
		if (now_ns() - since > REAPER_GRACE_NS) {
			pthread_mutex_unlock(&rp->lock);
			reap_pass(rp);
			pthread_mutex_lock(&rp->lock);
			if (rp->stop)
				break;
		}
		uint64_t until = now_ns() + REAPER_NAP_NS;
		struct timespec ts = { (time_t)(until / 1000000000u), (long)(until % 1000000000u) };
		pthread_cond_timedwait(&rp->wake, &rp->lock, &ts);
	}
	pthread_mutex_unlock(&rp->lock);
	return NULL;
}

struct reaper *reaper_start(const struct tracee_ops *ops, pid_t pid)
{
	if (!ops->reap_exited_threads)
		return NULL;
	struct reaper *rp = calloc(1, sizeof(*rp));
	if (!rp)
		return NULL;
	rp->ops = ops;
	rp->pid = pid;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* now_ns()'s clock */
	pthread_cond_init(&rp->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&rp->lock, NULL);
	/* Signals (SIGINT, SIGTERM, ...) stay the main thread's business. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&rp->thread, NULL, reaper_main, rp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		pthread_cond_destroy(&rp->wake);
		pthread_mutex_destroy(&rp->lock);
		free(rp);
		return NULL;
	}
	return rp;
}

void reaper_enter(struct reaper *rp)
{
	if (rp) {
		atomic_store(&rp->reaped, 0);
		pthread_mutex_lock(&rp->lock);
		atomic_store(&rp->seize_since, now_ns());
		if (rp->idle)
			pthread_cond_signal(&rp->wake);
		pthread_mutex_unlock(&rp->lock);
	}
}

unsigned reaper_leave(struct reaper *rp)
{
	if (!rp)
		return 0;
	atomic_store(&rp->seize_since, 0);
	return atomic_load(&rp->reaped);
}

void reaper_stop(struct reaper *rp)
{
	if (!rp)
		return;
	pthread_mutex_lock(&rp->lock);
	rp->stop = true;
	pthread_cond_signal(&rp->wake);
	pthread_mutex_unlock(&rp->lock);
	pthread_join(rp->thread, NULL);
	pthread_cond_destroy(&rp->wake);
	pthread_mutex_destroy(&rp->lock);
	free(rp);
}

/*
 * refresh.pml - Promela model of refresh's wait for the readers of the
 * standby copy (src/registry.c, src/registry.h), with x86-TSO store
 * buffers on every thread.
 *
 * Check: bash tests/model/run.sh, or by hand:
 *     spin [-DVARIANT] -a refresh.pml && gcc -O2 -DSAFETY -o pan pan.c && ./pan
 *
 * Safety property: the writer never changes a copy that a reader is
 * inside. Two assertions, on ghost variables:
 *   - the writer, when it begins to change the standby: no reader is in
 *     it (in[r] != standby + 1 for every r);
 *   - a reader, when it loads PUB and so enters a copy: the writer is not
 *     changing that copy (changing != in[r]).
 * With DESTROY, after its G publications the writer destroys the map
 * (evmap_writer_free): PUB := the destroyed word (generation D, above
 * every published one; a reader that loads it enters no copy and
 * announces D), the same wait for generation D, then both copies are
 * freed (ghost freed). Two more assertions: no reader is in either copy
 * when they are freed, and no reader enters a copy after that.
 *
 * Variants (cpp switches: spin -DNAME -a refresh.pml). Each of the first
 * five removes one ordering the protocol relies on, and each must make
 * the checker find an assertion violation (README.md: the
 * counterexamples):
 *   NO_BARRIER         the writer's barrier (membarrier) is left out; the
 *                      handles it raised FLAG for still count as verified;
 *   NO_UNPARK_FENCE    the reader's un-park stores "inside" with a plain
 *                      (buffered) store instead of an exchange;
 *   FLAG_BEFORE_INSIDE the reader loads FLAG before it stores "inside";
 *   NO_PUBLISH_FENCE   no fence between the writer's PUB store and its
 *                      later loads of WORD (its store buffer may still
 *                      hold the PUB store);
 *   FLAG_BEFORE_WORD   the writer loads FLAG before WORD (rule B).
 * Two more with DESTROY, each of which must fail too:
 *   DESTROY_WAIT_OLD   destruction waits for the last published generation
 *                      (as a refresh would) instead of D;
 *   NO_DESTROY_FENCE   no fence between the destroyed word's store and
 *                      the wait's first WORD load.
 * NOT_READY: the map starts with no view (PUB = NONE_PUB, the C code's
 * EVMAP__PUBLISHED_NONE): a section that loads it enters no copy and
 * stores "outside" at once (release), generation unchanged; its end
 * stores nothing. Publications 1..G follow; the first two change copies
 * never published, so the first wait is for generation 2. One variant
 * with it must fail:
 *   NOT_READY_ANNOUNCES_HIGH  such a section announces a generation above
 *                      every published one instead (and stays inside),
 *                      as an unsound alternative would.
 * REUSE: reader 1 may, after a section, be freed and kept as a spare
 * (evmap_reader_free: state := SPARE with a compare-and-swap, a locked
 * instruction) and be made live again as a new handle
 * (evmap__registry_reuse: state := LIVE, a store, then a full fence),
 * keeping its WORD, FLAG and announced generation; its sections go on.
 * The writer's look at it loads the state first: SPARE is clear (it has
 * no section). One variant with it must fail:
 *   REUSE_NO_FENCE     no fence after the "live" store (AArch64: a release
 *                      store, as the unlock is, does not keep the
 *                      section's later PUB load from passing it).
 * Two more, about the C code's handling of a failed barrier:
 *   BARRIER_MAY_FAIL   the barrier system call may fail; the wait then
 *                      returns -EAGAIN (try_refresh) and is called again,
 *                      as park_and_prove()/evmap__registry_wait() do: the
 *                      raised flags stay raised, verified[] stays what it
 *                      was (as an earlier version of the code did). Fails;
 *   VERIFY_RESET       (with BARRIER_MAY_FAIL) the fix the code has:
 *                      verified[r] is cleared when FLAG[r] is raised and
 *                      set again only after a barrier that succeeded.
 * Sizes (-D too): G (publications, default 3; run.sh uses 2 with
 * DESTROY), BUF (reader store buffer
 * entries, default 3), WBUF (writer store buffer entries, default 4),
 * SECTIONS0 (busy reader, default 3), SECTIONS1 (idle reader, default 2).
 *
 * The readers
 * -----------
 * Reader 0 is busy: up to SECTIONS0 sections. It starts outside, FLAG 0,
 * not verified (in the C code every handle is born parked and verified;
 * reader 0 is such a handle after its first un-park: FLAG 0, and FLAG is
 * only raised again by park_and_prove, with a barrier before the writer
 * trusts it, so verified[0] = 0 or 1 makes no difference here). Reader 1
 * is born parked (FLAG 1, verified, as evmap__registry_add does) and may
 * be idle: 0 to SECTIONS1 sections; it can be un-parked by its first
 * section, parked again by a refresh, and un-parked by its second. Both
 * may stop after any section (and go idle for good).
 *
 * Steps, and the code they model (registry.h, registry.c)
 * -------------------------------------------------------
 * Reader (evmap__section_begin / evmap__section_end):
 *   1. store WORD := ann*2+1 (relaxed): appended to its store buffer;
 *   2. load FLAG (relaxed), forwarding from the buffer;
 *   3. if raised, evmap__section_unpark: the exchange on WORD (waits for
 *      the buffer to drain, writes memory), then FLAG := 0 appended, in
 *      the same step (the buffer is empty right after the exchange: a
 *      barrier between the two would drain nothing);
 *   4. load PUB; ghost: in[r] := copy + 1, in the same step;
 *   5. a new generation: ann := it, store WORD := ann*2+1 (release),
 *      appended (its own step); NONE_PUB (NOT_READY): store WORD :=
 *      ann*2 (release, "outside"), appended, and no store at 7;
 *   6. ghost in[r] := 0, and
 *   7. store WORD := ann*2 (release), appended: 6 and 7 are one step (the
 *      ghost is cleared a little later than it could be: the check is, if
 *      anything, stricter).
 * Writer (judge, judge_all, park_and_prove, registry_wait, publish):
 *   a. load WORD: generation >= cur: clear ("announced", rule A);
 *   b. outside, older: if verified[r], load FLAG (a second step, after
 *      the word); raised: clear ("parked", rule B);
 *   c. outside, older, not parked: park_and_prove: judge again, raise
 *      FLAG (appended to the writer's buffer), one barrier for all
 *      raised handles, verified[r] := 1, re-load every WORD not clear:
 *      outside (any generation) or generation >= cur: clear ("proven",
 *      rule C);
 *   d. inside, older: not clear; looked at again later.
 * Each load or store is one step; purely local decisions are folded into
 * the step of the load before them.
 *
 * Generations and copies
 * ----------------------
 * PUB holds a generation g; the copy it names is g % 2. Copy 0 is
 * published at generation 0 at the start (the C code starts with no
 * view: NOT_READY models that start). The writer
 * publishes generations 1..G. Before it publishes g + 1 it changes the
 * standby, copy (g + 1) % 2, which was published at g - 1 and unpublished
 * when g was published; so for g >= 1 it first waits until every handle
 * is clear for g (registry_wait(gen = g)). For g = 0 the standby, copy 1,
 * was never published: no wait. With NOT_READY neither copy was published
 * at the start: no wait for g = 0 and g = 1.
 *
 * Memory model (TSO)
 * ------------------
 * Every thread's stores go to its own FIFO store buffer (arrays + count).
 * A separate flusher process per buffer moves the oldest entry to memory,
 * one entry per step, at any time. A thread's load of a location it
 * stores to forwards from the newest entry for it in its own buffer, else
 * reads memory. Loads are never delayed (TSO), so a load is one atomic
 * step at its program point. A full buffer makes the next store wait for
 * its flusher (a finite buffer: this bounds the model, see BUF).
 *   - A full fence (the writer's fence after publishing) waits until the
 *     thread's own buffer is empty.
 *   - An atomic exchange (x86 xchg, the reader's un-park) waits until the
 *     buffer is empty and writes memory directly, in one step.
 *   - The barrier, membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED): every
 *     running thread executes a full fence at some point between two of
 *     its instructions, and so does the caller. Modelled as one atomic
 *     step that drains every store buffer (readers' and writer's) to
 *     memory: the thread is stopped while its buffer drains, and the
 *     buffers are independent, so draining them all at once is the same.
 *
 * Memory (shared) variables
 * -------------------------
 *   pub        PUB: the published generation (evmap__shared.published).
 *              Written by the writer only, read by the readers.
 *   word[r]    WORD of handle r (evmap_reader.section): gen * 2 + inside.
 *              Written by reader r only, read by the writer.
 *   flag[r]    FLAG of handle r (evmap_reader.parked): raised (1) by the
 *              writer, cleared (0) by reader r.
 *   state[r]   REUSE: the handle's state (evmap_reader.state), LIVE or
 *              SPARE. Written by reader r (its free and reuse), read by
 *              the writer.
 *   sb[r]      reader r's store buffer (entries: which location, value).
 *   wa,wv,wn   the writer's store buffer (location, value; count).
 * Writer-private: verified[r] (evmap_reader.park_verified), clear[r]
 * (evmap_reader.clear_gen == gen).
 * Ghosts: in[r] (0: in no copy; c + 1: reader r is inside copy c, from
 * its PUB load (step 4) to step 6), changing (0, or c + 1 while the
 * writer changes copy c: from the start of the change to the PUB store
 * that publishes it).
 */

#define NR 2                    /* reader handles */
#ifndef G
#define G 3                     /* publications */
#endif
#ifndef BUF
#define BUF 3                   /* reader store buffer entries */
#endif
#ifndef WBUF
#define WBUF 4                  /* writer store buffer entries */
#endif

/* Reader 0: busy, not parked at the start, 3 sections at most.
 * Reader 1: idle, born parked (evmap__registry_add), 0-2 sections. */
#ifndef SECTIONS0
#define SECTIONS0 3
#endif
#ifndef SECTIONS1
#define SECTIONS1 2
#endif

/* writer store buffer locations */
#define A_PUB 0
#define A_FLAG(r) (1 + (r))     /* FLAG of handle r */

/* reader store buffer locations */
#define A_WORD 0
#define A_RFLAG 1
#define A_STATE 2               /* REUSE: the handle's state */

/* REUSE: states of a handle (enum evmap__handle_state) */
#define LIVE 0
#define SPARE 1

/* verdicts of judge() */
#define CLEAR 0
#define INSIDE_OLD 1
#define OUTSIDE_OLD 2

/* DESTROY: the generation of the destroyed word (EVMAP__GENERATION_
 * DESTROYED), above every published one */
#define D (G + 1)
/* NOT_READY: PUB's value before the first publication
 * (EVMAP__PUBLISHED_NONE): no generation, no copy */
#define NONE_PUB 100
/* NOT_READY_ANNOUNCES_HIGH: the generation such a section would announce
 * (above every published one and D) */
#define HIGH (G + 2)

#define GEN(w) ((w) / 2)
#define INSIDE(w) ((w) % 2)

/* ---- memory ---- */
#ifdef NOT_READY
byte pub = NONE_PUB;
#else
byte pub = 0;
#endif
byte word[NR];                  /* 0: outside, generation 0 */
bit flag[NR];                   /* init: flag[1] = 1 (born parked) */
bit state[NR];                  /* REUSE: LIVE or SPARE */

/* ---- store buffers ---- */
typedef sbuf {
	byte loc[BUF];          /* A_WORD, A_RFLAG or A_STATE */
	byte val[BUF];
	byte n
};
sbuf sb[NR];

byte wa[WBUF];
byte wv[WBUF];
byte wn;

/* ---- ghosts ---- */
byte in[NR];
byte changing;
#ifdef DESTROY
bit freed;                      /* the writer freed both copies */
#endif

/* ------------------------------------------------------------------ */
/* Reader side                                                         */
/* ------------------------------------------------------------------ */

/* append a store of reader r to its buffer; used inside atomic, where it
 * waits if the buffer is full */
inline rappend(r, where, v)
{
	sb[r].n < BUF ->
	sb[r].loc[sb[r].n] = where;
	sb[r].val[sb[r].n] = v;
	sb[r].n++
}

/* reader r loads its FLAG: the newest buffered FLAG store, else memory */
inline rloadflag(r, f)
{
	d_step {
		f = flag[r];
		k = 0;
		do
		:: k < sb[r].n ->
			if
			:: sb[r].loc[k] == A_RFLAG -> f = sb[r].val[k]
			:: else
			fi;
			k++
		:: else -> break
		od;
		k = 0
	}
}

/* move the oldest entry of reader r's buffer to memory (d_step only) */
inline rdrain1(r)
{
	if
	:: sb[r].loc[0] == A_RFLAG -> flag[r] = sb[r].val[0]
	:: sb[r].loc[0] == A_STATE -> state[r] = sb[r].val[0]
	:: else -> word[r] = sb[r].val[0]
	fi;
	k = 1;
	do
	:: k < sb[r].n ->
		sb[r].loc[k - 1] = sb[r].loc[k];
		sb[r].val[k - 1] = sb[r].val[k];
		k++
	:: else -> break
	od;
	sb[r].n--;
	sb[r].loc[sb[r].n] = 0;
	sb[r].val[sb[r].n] = 0;
	k = 0
}

/* the flusher of reader r's store buffer */
proctype rflusher(byte r)
{
	byte k;
end:
	do
	:: d_step { sb[r].n > 0 -> rdrain1(r) }
	od
}

/*
 * One reader handle r, bound to one thread, running up to nsec read
 * sections one after another (re-entry on the same handle), stopping
 * nondeterministically before any of them (the handle goes idle).
 * ann: the generation this handle last announced (the generation in its
 * WORD, which only this thread writes; the C code reloads its own word,
 * which is the same value).
 */
proctype reader(byte r; byte nsec)
{
	byte ann = 0;           /* the generation announced last */
	byte p;                 /* the PUB just loaded */
	bit newgen;             /* p was a new generation: announce it */
	bit noview;             /* p was NONE_PUB: WORD says outside already */
	bit f;                  /* the FLAG just loaded */
	byte sec = 0;
	byte k;
#ifdef REUSE
	bit reused;             /* freed and made live again once */
#endif

	if
	:: nsec > 0
	:: true -> goto idle            /* a handle with no section at all */
	fi;
again:
	do
	:: true ->
		/* ---- evmap__section_begin ---- */
#ifdef FLAG_BEFORE_INSIDE
		rloadflag(r, f);                   /* 2 (moved before 1) */
		atomic { rappend(r, A_WORD, ann * 2 + 1) };    /* 1 */
#else
		/* 1: store "inside", generation unchanged (relaxed) */
		atomic { rappend(r, A_WORD, ann * 2 + 1) };
		/* (liburcu's read lock: a compiler barrier with membarrier) */
		rloadflag(r, f);                   /* 2: load FLAG (relaxed) */
#endif
		/* 3: evmap__section_unpark */
		if
		:: f ->
#ifdef NO_UNPARK_FENCE
			/* a plain store instead of the exchange */
			atomic {
				rappend(r, A_WORD, ann * 2 + 1);
				rappend(r, A_RFLAG, 0)
			}
#else
			/* the exchange (x86 xchg): waits until the buffer
			 * has drained, then writes memory; then FLAG := 0
			 * (relaxed), appended to the buffer */
			atomic {
				sb[r].n == 0 ->
				word[r] = ann * 2 + 1;
				rappend(r, A_RFLAG, 0)
			}
#endif
		:: else
		fi;
		/* 4: load PUB (acquire); ghost: now in copy p % 2 (the
		 * comparison with ann, local, is folded into the load) */
		atomic {
			p = pub;
			if
			:: p == NONE_PUB ->
				/* not ready: no view, no copy entered */
				in[r] = 0;
				noview = 1
#ifdef DESTROY
			/* the destroyed word: no view, no copy entered */
			:: p == D -> in[r] = 0
			:: else ->
				in[r] = p % 2 + 1;
				assert(changing != in[r] && !freed)
#else
			:: else ->
				in[r] = p % 2 + 1;
				assert(changing != in[r])
#endif
			fi;
			if
			:: p != ann && !noview -> ann = p; newgen = 1
			:: else
			fi;
			p = 0
		};
		/* 5: a new generation: announce it (release store); not
		 * ready: "outside" (release), generation unchanged */
		if
		:: newgen ->
			atomic { newgen = 0; rappend(r, A_WORD, ann * 2 + 1) }
#ifdef NOT_READY_ANNOUNCES_HIGH
		:: noview ->
			/* the unsound alternative: announce a generation
			 * above every published one, and stay inside */
			atomic {
				noview = 0;
				ann = HIGH;
				rappend(r, A_WORD, ann * 2 + 1)
			}
#else
		:: noview -> atomic { rappend(r, A_WORD, ann * 2) }
#endif
		:: else
		fi;
		/* ... the section's body: loads of copy in[r] - 1 ... */
		/* ---- evmap__section_end ---- */
		atomic {
			in[r] = 0;                 /* 6: no longer in a copy */
			f = 0;
			sec++;
			/* 7: "outside" (release); not after a not-ready
			 * section, whose WORD says outside already */
			if
			:: noview -> noview = 0
			:: else -> rappend(r, A_WORD, ann * 2)
			fi;
			/* re-enter (a next section on the same handle), or
			 * go idle for good */
			if
			:: sec < nsec
			:: true -> ann = 0; sec = 0; goto idle
#ifdef REUSE
			:: r == 1 && sec < nsec && !reused ->
				reused = 1; goto reuse
#endif
			fi
		}
	od;
#ifdef REUSE
reuse:
	/* evmap_reader_free(): the compare-and-swap live -> spare under
	 * the lock (x86: a locked instruction, the buffer drains first) */
	atomic { sb[r].n == 0 -> state[r] = SPARE };
	/* evmap__registry_reuse(), the next new handle: "live" (a store),
	 * then the full fence; the handle keeps its WORD, ann and FLAG */
	atomic { rappend(r, A_STATE, LIVE) };
#ifndef REUSE_NO_FENCE
	(sb[r].n == 0);
#endif
	goto again;
#endif
idle:
	skip
}

/* ------------------------------------------------------------------ */
/* Writer side                                                         */
/* ------------------------------------------------------------------ */

/* the value of FLAG[r] for the writer's load: the newest store to it in
 * its own buffer, else memory (used inside d_step) */
inline wflagval(r, f)
{
	f = flag[r];
	k = 0;
	do
	:: k < wn ->
		if
		:: wa[k] == A_FLAG(r) -> f = wv[k]
		:: else
		fi;
		k++
	:: else -> break
	od;
	k = 0
}

/* move the oldest entry of the writer's buffer to memory (d_step only) */
inline wdrain1()
{
	if
	:: wa[0] == A_PUB -> pub = wv[0]
	:: else -> flag[wa[0] - 1] = wv[0]
	fi;
	k = 1;
	do
	:: k < wn ->
		wa[k - 1] = wa[k];
		wv[k - 1] = wv[k];
		k++
	:: else -> break
	od;
	wn--;
	wa[wn] = 0;
	wv[wn] = 0;
	k = 0
}

proctype wflusher()
{
	byte k;
end:
	do
	:: d_step { wn > 0 -> wdrain1() }
	od
}

/* membarrier: every thread's store buffer drained, in one atomic step
 * (used inside d_step) */
inline barrier_body()
{
	do
	:: sb[0].n > 0 -> rdrain1(0)
	:: sb[1].n > 0 -> rdrain1(1)
	:: wn > 0 -> wdrain1()
	:: else -> break
	od
}

/*
 * The end of a look at handle r (inside the d_step of its last load),
 * with its verdict v:
 *   park == 0 (judge_all): CLEAR is recorded (clear[r]); OUTSIDE_OLD
 *             allows a park_and_prove (anyout);
 *   park == 1 (park_and_prove's first loop): OUTSIDE_OLD: raise FLAG[r]
 *             (c), a store appended to the writer's buffer; a CLEAR is
 *             not recorded, as in the C code (the re-load decides).
 * (The append is folded into the load before it: nothing but the
 * writer's own flusher and barrier look at the writer's buffer.)
 */
inline jdone(r, park)
{
	if
	:: !park && v == CLEAR -> clear[r] = 1
	:: !park && v == OUTSIDE_OLD -> anyout = 1
	:: park && v == OUTSIDE_OLD ->
#ifdef BARRIER_MAY_FAIL
		cand[r] = 1;
#ifdef VERIFY_RESET
		verified[r] = 0;
#endif
#else
		/* verified from now on: the writer looks at verified[r]
		 * again only after the barrier below */
		verified[r] = 1;
#endif
		assert(wn < WBUF);
		wa[wn] = A_FLAG(r);
		wv[wn] = 1;
		wn++
	:: else
	fi;
	v = 0
}

/*
 * judge(r, park): the writer's look at handle r for generation cur
 * (judge() in registry.c); verdict v = CLEAR, INSIDE_OLD or OUTSIDE_OLD:
 *   a. load WORD; generation >= cur: CLEAR (rule A, "announced");
 *   d. inside, older generation: INSIDE_OLD (wait, look again later);
 *   b. outside, older generation, verified[r]: load FLAG (after the
 *      word); raised: CLEAR (rule B, "parked");
 *   c. else OUTSIDE_OLD (a candidate for park_and_prove).
 * Each load is one step; the decisions on local values are folded into
 * the step of the load they follow.
 */
inline judge_word(r, park)
{
#ifdef FLAG_BEFORE_WORD
	/* the variant: FLAG loaded first (b), then WORD (a) */
	d_step {
		if
		:: verified[r] -> wflagval(r, f)
		:: else -> f = 0
		fi
	};
	d_step {
		w = word[r];
		if
		:: GEN(w) >= cur -> v = CLEAR
		:: GEN(w) < cur && INSIDE(w) -> v = INSIDE_OLD
		:: GEN(w) < cur && !INSIDE(w) && f -> v = CLEAR
		:: else -> v = OUTSIDE_OLD
		fi;
		w = 0;
		f = 0;
		jdone(r, park)
	}
#else
	d_step {
		w = word[r];                                     /* a */
		if
		:: GEN(w) >= cur -> v = CLEAR                    /* a */
		:: GEN(w) < cur && INSIDE(w) -> v = INSIDE_OLD   /* d */
		:: else -> v = OUTSIDE_OLD                       /* b, c */
		fi;
		w = 0;
		if
		:: v == OUTSIDE_OLD && verified[r]
		:: else -> jdone(r, park)
		fi
	};
	if
	:: v == OUTSIDE_OLD && verified[r] ->
		d_step {
			wflagval(r, f);                          /* b */
			if
			:: f -> v = CLEAR
			:: else
			fi;
			f = 0;
			jdone(r, park)
		}
	:: else
	fi
#endif
}

/* judge(), with REUSE: the state first (acquire, before the word); a
 * spare handle is CLEAR ("freed": it has no section) */
inline judge(r, park)
{
#ifdef REUSE
	d_step {
		if
		:: state[r] == SPARE -> v = CLEAR; jdone(r, park); spare = 1
		:: else
		fi
	};
	if
	:: spare -> spare = 0
	:: else -> judge_word(r, park)
	fi
#else
	judge_word(r, park)
#endif
}

/* park_and_prove: re-load handle r after the barrier: outside (any
 * generation) or a generation >= cur: CLEAR ("proven", rule C) */
inline reload(r)
{
	d_step {
		if
		:: !clear[r] ->
			w = word[r];
			if
			:: !INSIDE(w) || GEN(w) >= cur -> clear[r] = 1
			:: else
			fi;
			w = 0
		:: else
		fi
	}
}

/* park_and_prove: the raised handles count as verified (parked) */
inline set_verified()
{
	if
	:: cand[0] -> verified[0] = 1; cand[0] = 0
	:: else
	fi;
	if
	:: cand[1] -> verified[1] = 1; cand[1] = 0
	:: else
	fi
}

/*
 * park_and_prove() (rules B and C): judge every handle not yet clear
 * again and raise FLAG for those OUTSIDE_OLD (c); one barrier (one
 * atomic step, with the writer's bookkeeping folded into it); the raised
 * handles count as verified from now on; then re-load every handle not
 * yet clear. (The C code sets park_verified only if FLAG still reads
 * raised after the barrier: a subset of the handles trusted here.)
 */
inline park_and_prove()
{
	if
	:: !clear[0] -> judge(0, 1)
	:: else
	fi;
	if
	:: !clear[1] -> judge(1, 1)
	:: else
	fi;
#if defined(BARRIER_MAY_FAIL)
	if
	:: d_step { barrier_body(); set_verified() };
		reload(0);
		reload(1)
	:: d_step { cand[0] = 0; cand[1] = 0 };
		/* membarrier failed: try_refresh returns -EAGAIN, and is
		 * called again: a new registry_wait for the same generation,
		 * which begins with a full fence; clear[] (clear_gen) and
		 * verified[] (park_verified) are kept */
		(wn == 0)
	fi
#elif defined(NO_BARRIER)
	/* no barrier: the handles raised above are trusted all the same */
	reload(0);
	reload(1)
#else
	d_step { barrier_body() };
	reload(0);
	reload(1)
#endif
}

/*
 * evmap__registry_wait(gen = cur): look at the handles not yet clear
 * (judge_all), in any order and as often as the writer likes (the C code:
 * in list order, polling, then backing off); once a look found one
 * OUTSIDE_OLD, park_and_prove may run (the C code: after
 * PARK_AFTER_POLLS polls, at once at destruction), until every handle is
 * clear.
 */
inline registry_wait()
{
	do
	:: clear[0] && clear[1] -> break
	:: !clear[0] -> judge(0, 0)
	:: !clear[1] -> judge(1, 0)
	:: anyout -> anyout = 0; park_and_prove()
	od
}

/*
 * The writer: publications 1..G. Before publishing cur + 1 (cur >= 1) it
 * waits for the readers of the standby (evmap__registry_wait(gen = cur)):
 * it looks at the handles not yet clear (judge_all), in any order and as
 * often as it likes (the C code: in list order, polling, then backing
 * off), and, once a look found one OUTSIDE_OLD, it may run
 * park_and_prove (the C code: after PARK_AFTER_POLLS polls), until every
 * handle is clear. Then it changes the standby (ghost), publishes it
 * (the PUB store), and fences.
 */
proctype writer()
{
	byte cur = 0;           /* the last published generation */
	bit clear[NR];          /* clear for cur (clear_gen == cur) */
	bit cand[NR];           /* FLAG raised by this park_and_prove */
	bit verified[NR];       /* park_verified */
	bit anyout;             /* a look found a handle OUTSIDE_OLD */
	bit spare;              /* REUSE: the look found the handle spare */
	byte w;
	byte v;
	bit f;
	byte k;

	verified[1] = 1;        /* reader 1 is born parked and verified */

	do
	:: cur < G ->
		/* the standby was published before (at cur - 1) */
		if
#ifdef NOT_READY
		:: cur > 1 -> registry_wait()
#else
		:: cur > 0 -> registry_wait()
#endif
		:: else
		fi;
		/* ---- change the standby, copy (cur + 1) % 2 ---- */
		atomic {
			clear[0] = 0;
			clear[1] = 0;
			anyout = 0;
			changing = (cur + 1) % 2 + 1;
			assert(in[0] != changing && in[1] != changing)
		};
		/* ---- publish(): PUB := cur + 1 (release store) ---- */
		atomic {
			wn < WBUF ->
			wa[wn] = A_PUB;
			wv[wn] = cur + 1;
			wn++;
			changing = 0;
			cur++
		};
#ifndef NO_PUBLISH_FENCE
		/* the full fence before any WORD is read (registry_wait) */
		(wn == 0)
#endif
	:: else -> break
	od;
#ifdef DESTROY
	/* ---- evmap_writer_free: PUB := the destroyed word (release) ---- */
	atomic {
		wn < WBUF ->
		wa[wn] = A_PUB;
		wv[wn] = D;
		wn++;
#ifndef DESTROY_WAIT_OLD
		cur = D
#endif
	};
#ifndef NO_DESTROY_FENCE
	(wn == 0);      /* the fence that begins evmap__registry_wait */
#endif
	registry_wait();
	/* ---- destroy_now: both copies freed ---- */
	atomic {
		freed = 1;
		assert(in[0] == 0 && in[1] == 0)
	};
#endif
wdone:
	skip
}

init
{
	atomic {
		flag[1] = 1;    /* reader 1 born parked */
		run rflusher(0);
		run rflusher(1);
		run wflusher();
		run reader(0, SECTIONS0);
		run reader(1, SECTIONS1);
		run writer()
	}
}

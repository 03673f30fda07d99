/*
 * groupsync.pml - SendToGroupSync over a group of 2 or 3 members.
 *
 *   spin -a groupsync.pml         our design (src/effects/GroupCollector.ts, contexts/Beehive.ts
 *                                 `sendToGroupSync`, `sendResp`, `cleanupNow`): 0 errors
 *   spin -a -DGO groupsync.pml    Go beehive: a reply channel buffered N, success when len(ch) == N
 *                                 (counts messages, not responders): one member answering twice
 *                                 passes for two
 *
 * Mutants of our design, each must fail:
 *   -DMUT_COUNT_MESSAGES   a member's second answer is counted again (Go's counting in our collector)
 *   -DMUT_NO_UNINVITED     uninvited answers are refused but do not fail the call
 *   -DMUT_IGNORE_GONE      a member cleaned up before answering is still waited for (until the deadline)
 *
 * Processes: Caller (sendToGroupSync: the members are fixed and the copies delivered when it starts),
 * Member(i) for each member (receives its copy, then answers zero, one or two times), Outsider (a
 * module that is not a member; may answer once), Cleaner (ours only: may clean up member 0 at any
 * time), Clock (the deadline passes at any point), Timer (ours: the wait's timer fiber), Monitor.
 * Answers are attributed (`from`); unattributed answers (R-GSYNC-6) are left out. Mailboxes are
 * assumed to have room (copies waiting for room are modelled in cleanup.pml and sendsync.pml).
 */

#define MAXN       3
#define OUTSIDER   MAXN   /* index of the non-member in `answers` */

#define NONE       0
#define OK         1
#define TIMEOUT    2
#define UNINVITED  3
#define MEMBERGONE 4

byte n;                   /* group size, 2 or 3 */
bool expired = false;     /* the clock has reached the deadline */
bool delivered = false;   /* the call started: every member has its copy */
bool cleaned[MAXN];       /* the member was cleaned up */

/* Observer */
bool pending = false;             /* the call has started and not returned */
byte result = NONE;               /* what the call returned */
byte answers[MAXN + 1];           /* sendResp calls per responder (index OUTSIDER: the non-member) */
bool goneFirst[MAXN];             /* cleaned up before it had answered */
bool late = false;                /* an answer or a cleanup came after the deadline */
byte accepts = 0;                 /* sendResp calls that returned true (ours) */
bool onceEach = false;            /* at the decision: every member answered once, nobody else */

/* every member answered exactly once and the non-member did not, so far */
#define ALL_ONCE (answers[0] == 1 && answers[1] == 1 && (n < 3 || answers[2] == 1) && answers[OUTSIDER] == 0)

#ifndef GO
/* ------------------------------------------------------------------ our design */
bool registered = false;  /* the collector is in the ReplyTable */
bool answered[MAXN + 1];  /* GroupCollector.answered (index OUTSIDER unused) */
bool gone[MAXN + 1];      /* GroupCollector.gone (index OUTSIDER unused) */
byte nAnswered = 0;
byte nGone = 0;
byte uninvited = 0;
byte outcome = NONE;      /* GroupCollector.outcome */
bool settled = false;     /* awaitArmUntil's `settled` */

inline decide(o) {
  outcome = o;
  settled = true;         /* the listener runs in this step */
  onceEach = ALL_ONCE
}

/* GroupCollector.check: complete once every member still waited for has answered */
inline check() {
  if
  :: nAnswered < n - nGone -> skip
  :: nAnswered >= n - nGone && uninvited > 0 -> decide(UNINVITED)
  :: nAnswered >= n - nGone && uninvited == 0 && nGone > 0 -> decide(MEMBERGONE)
  :: nAnswered >= n - nGone && uninvited == 0 && nGone == 0 -> decide(OK)
  fi
}

/* ReplyTable.route + GroupCollector.deliver(response, from): one synchronous step */
inline sendResp(from) {
  atomic {
    answers[from]++;
    late = late || expired;
    if
    :: registered && outcome == NONE ->
       if
#ifdef MUT_COUNT_MESSAGES
       :: from < n ->
          accepts++;
          if :: !answered[from] -> answered[from] = true :: else -> skip fi;
          nAnswered++;
#else
       :: from < n && !answered[from] ->
          accepts++;
          answered[from] = true;
          nAnswered++;
#endif
          if
          :: gone[from] -> gone[from] = false; nGone--
          :: else -> skip
          fi
       :: else ->
#ifndef MUT_NO_UNINVITED
          uninvited++
#else
          skip
#endif
       fi;
       check()
    :: else -> skip                   /* returns false: the call is over or gone */
    fi
  }
}

proctype Caller() {
  atomic {
    pending = true;
    registered = true;                /* the collector is registered before any copy is delivered */
    delivered = true                  /* one copy to each member (room assumed) */
  };
  atomic { settled -> skip };         /* waits; settled by an answer, a cleanup or the timer */
  atomic {
    result = outcome;
    registered = false;               /* onExit: the collector is removed (R-GSYNC-7) */
    pending = false
  }
}

proctype Timer() {
end:
  atomic { expired && !settled && pending -> decide(TIMEOUT) }   /* collector.expire() */
}

/* cleanupNow: unregister, close the mailbox, then memberGone for every pending collector */
proctype Cleaner() {
  if
  :: skip
  :: atomic {
       delivered ->
       cleaned[0] = true;
       goneFirst[0] = (answers[0] == 0);
       late = late || expired;
#ifndef MUT_IGNORE_GONE
       if
       :: registered && outcome == NONE && !answered[0] -> gone[0] = true; nGone++; check()
       :: else -> skip
       fi
#endif
     }
  fi
}

#else
/* ------------------------------------------------------------------ Go beehive */
bool registered = false;  /* anonChannels[id] present */
byte buffered = 0;        /* len(anonChan), capacity N */

/* RLock; select { case ch <- resp: default: discard } */
inline sendResp(from) {
  atomic {
    answers[from]++;
    late = late || expired;
    if
    :: registered && buffered < n -> buffered++
    :: else -> skip                   /* discarded, or "bad anonName" after the call */
    fi
  }
}

proctype Caller() {
  atomic { pending = true; registered = true; delivered = true };
  /* for { if len(anonChan) == N { break }; select { <-ticker | <-timer: timeout path } }
     The 20 ms ticker is abstracted to "the loop sees the length as soon as it changes", so the
     model is kinder to Go than Go is: only the counting can make it fail. */
  if
  :: atomic { buffered == n -> result = OK; onceEach = ALL_ONCE }
  :: atomic { expired && buffered < n -> result = TIMEOUT }
  fi;
  /* cleanup(): Lock; delete; close; drain counting ParentID != id: always 0 (dead code) */
  atomic { registered = false; pending = false }
}
#endif

proctype Member(byte i) {
  if
  :: atomic { delivered && !cleaned[i] -> skip }   /* receives its copy */
  :: atomic { cleaned[i] -> goto done }            /* cleaned up first: ModuleClosed, no answer */
  fi;
  do
  :: answers[i] < 2 -> sendResp(i)
  :: break
  od;
done:
  skip
}

proctype Outsider() {
  if
  :: skip
  :: delivered -> sendResp(OUTSIDER)
  fi
}

proctype Clock() {
  expired = true
}

/* At the end, each property is a named verdict, so that pan's report names what failed. */
proctype Monitor() {
  bool callNotFinished, miscounted, earlyTimeout, allAnsweredNoSuccess;
#ifndef GO
  bool wrongAcceptCount, uninvitedWithoutCause, goneWithoutCause, goneNotReported;
#endif
  timeout ->                          /* every other process has ended or blocks for good */
  d_step {
    /* the call returned and its collector is removed (R-GSYNC-7) */
    callNotFinished = (result == NONE || pending || registered);
    /* success only if, when it was decided, every member had answered exactly once and nobody
       else had answered (R-GSYNC-2, R-GSYNC-3) */
    miscounted = (result == OK && !onceEach);
    /* never a timeout before the deadline (R-GSYNC-4) */
    earlyTimeout = (result == TIMEOUT && !expired);
    /* every member answered once, in time, nobody else answered: success (R-GSYNC-2) */
    allAnsweredNoSuccess = (ALL_ONCE && !goneFirst[0] && !late && result != OK);
#ifndef GO
    /* sendResp returned true once per member at most, and once per member on success (R-RESP-1) */
    wrongAcceptCount = (accepts > n || (result == OK && accepts != n));
    /* "Uninvited" only if a member answered twice or a non-member answered (R-GSYNC-3) */
    uninvitedWithoutCause = (result == UNINVITED && answers[0] < 2 && answers[1] < 2 && answers[2] < 2 &&
                             answers[OUTSIDER] == 0);
    /* "MemberGone" only if a member was cleaned up before answering (R-GSYNC-5) */
    goneWithoutCause = (result == MEMBERGONE && !goneFirst[0]);
    /* member 0 cleaned up in time without answering, the others answered once in time, nobody
       else answered: "MemberGone" as soon as the others answered, not "Timeout" (R-GSYNC-5) */
    goneNotReported = (goneFirst[0] && answers[0] == 0 && answers[1] == 1 && (n < 3 || answers[2] == 1) &&
                       answers[OUTSIDER] == 0 && !late && result != MEMBERGONE);
#endif
  };
  assert(!callNotFinished);
  assert(!miscounted);
  assert(!earlyTimeout);
  assert(!allAnsweredNoSuccess);
#ifndef GO
  assert(!wrongAcceptCount);
  assert(!uninvitedWithoutCause);
  assert(!goneWithoutCause);
  assert(!goneNotReported);
#endif
}

init {
  atomic {
    if
    :: n = 2
    :: n = 3
    fi;
    run Caller();
    run Member(0);
    run Member(1);
    if
    :: n == 3 -> run Member(2)
    :: else -> skip
    fi;
    run Outsider();
    run Clock();
#ifndef GO
    run Timer();
    run Cleaner();
#endif
    run Monitor()
  }
}

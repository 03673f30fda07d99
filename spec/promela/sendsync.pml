/*
 * sendsync.pml - SendSync with a deadline, SendResp, and the callee receiving the request.
 *
 *   spin -a sendsync.pml          our design (src/effects/ReplySlot.ts, Deadline.ts, Arm.ts `first`,
 *                                 Mailbox.ts, contexts/Beehive.ts `sendSync`/`sendResp`): 0 errors
 *   spin -a -DGO sendsync.pml     Go beehive: unbuffered reply channel, non-blocking send in SendResp
 *                                 (drop when the caller is not parked in its select): lost response
 *
 * Mutants of our design, each must fail (they show the property would catch the bug):
 *   -DMUT_UNBUFFERED  the slot keeps a response only while the caller waits on it (Go's bug in our code)
 *   -DMUT_NOCLOSE     the timeout does not close the slot in the step it decides (closed later on exit)
 *   -DMUT_LATEREG     the slot is registered after the request is enqueued (kubeedge issue #3016)
 *
 * Processes: Caller (sendSync), Callee (the module: receives until it gets the request, then answers),
 * Stray (maybe answers the same request id at any time: a duplicate or early answer), Clock (the
 * deadline passes at any point), Timer (ours: the timer fiber of a wait), Monitor (checks at the end).
 * The callee's mailbox has capacity 1 and may already hold another message, so the request may wait
 * for room (phase "enqueue") while the deadline passes or a stray answer comes (R-SYNC-8).
 *
 * In ours, every synchronous part of an operation is one atomic step (JS is single-threaded and these
 * steps do not suspend); interleaving happens only where a fiber suspends or may yield.
 */

#define NONE    0
#define R1      1   /* the callee's response */
#define R2      2   /* the stray response (same parent id) */
#define TIMEOUT 3   /* SyncTimeout */

#define OTHER   1   /* a message queued before the request */
#define REQ     2   /* the request */

chan box = [1] of { byte };     /* the callee's mailbox, capacity 1 */
bool expired = false;           /* the clock has reached the deadline */

/* Observer: what the property talks about, independent of the implementation's state. */
bool pending = false;           /* sendSync has started and not returned */
byte result = NONE;             /* what sendSync returned: R1, R2 or TIMEOUT */
bool accepted[3];               /* sendResp(r) accepted r (ours: returned true; Go: handed it over) */
bool timely[3];                 /* sendResp(r) ran while the call was pending, before the deadline,
                                   and no response had been accepted yet */
bool withdrawn = false;         /* the request was withdrawn from the wait for room (never delivered) */
bool calleeGotRequest = false;

#define noneAccepted (!accepted[R1] && !accepted[R2])

#ifndef GO
/* ------------------------------------------------------------------ our design */
bool registered = false;        /* the ReplySlot is in the ReplyTable */
bool slotClosed = false;        /* ReplySlot.closed */
byte outcome = NONE;            /* ReplySlot.outcome */
bool listening = false;         /* the slot's listener is set (the caller waits on the slot) */
bool offering = false;          /* the request is a queued offerer (waits for room) */
bool waiting = false;           /* the caller is in awaitArmUntil, with a timer */
bool settled = false;           /* awaitArmUntil's `settled`: its outcome is fixed */
bool timedOut = false;          /* the timer decided (onDeadline) */

#ifdef MUT_UNBUFFERED
#define KEEPS listening         /* mutant: a response is kept only while the caller waits on the slot */
#else
#define KEEPS true              /* the slot keeps the first response whether or not the caller waits */
#endif

/* ReplyTable.route + ReplySlot.deliver: one synchronous step. */
inline sendResp(r) {
  atomic {
    timely[r] = pending && !expired && noneAccepted;
    if
    :: registered && !slotClosed && outcome == NONE && KEEPS ->
       outcome = r;
       accepted[r] = true;
       if
       :: listening ->
          /* the listener runs at once: in phase 1 it is `first`'s right branch, which withdraws the
             offer (R-SYNC-8); either way awaitArmUntil settles */
          listening = false;
          if
          :: offering -> offering = false; withdrawn = true
          :: else -> skip
          fi;
          settled = true
       :: else -> skip                /* stored; the caller finds it when it arms the slot */
       fi
    :: else -> skip                   /* sendResp returns false */
    fi
  }
}

proctype Caller() {
  atomic {
    pending = true;
#ifndef MUT_LATEREG
    registered = true;                /* calls.add(slot) before anything is delivered (R-SYNC-4) */
#endif
    /* awaitArmUntil(first(armOffer(request), slot.arm), deadline, timedOut("enqueue")) */
    if
    :: nfull(box) -> box!REQ          /* room: completes at once, no timer */
    :: full(box) ->
       offering = true;
#ifndef MUT_LATEREG
       listening = true;
#endif
       waiting = true
    fi
  };
#ifdef MUT_LATEREG
  atomic { registered = true; if :: offering -> listening = true :: else -> skip fi };
#endif
  if
  :: waiting ->
     atomic { settled -> waiting = false; settled = false }   /* resumes */
  :: else -> skip
  fi;
  if
  :: timedOut || outcome != NONE -> skip                      /* decided in phase 1 */
  :: else ->
     /* awaitArmUntil(slot.arm, deadline, timedOut("response")) */
     atomic {
       if
       :: outcome != NONE -> skip     /* the response is already there: completes at once */
       :: else -> listening = true; waiting = true
       fi
     };
     if
     :: waiting -> atomic { settled -> waiting = false; settled = false }
     :: else -> skip
     fi
  fi;
  atomic {
    if
    :: timedOut -> result = TIMEOUT
    :: else -> result = outcome
    fi;
    slotClosed = true;                /* onExit: close and unregister (R-SYNC-6) */
    registered = false;
    pending = false
  }
}

/* The timer fiber of whichever wait is in progress: at the deadline, if nothing settled the wait,
   withdraw the arms and decide the timeout in the same step (the slot refuses later responses). */
proctype Timer() {
end:
  do
  :: atomic {
       expired && waiting && !settled ->
       settled = true;
       listening = false;
       if
       :: offering -> offering = false; withdrawn = true
       :: else -> skip
       fi;
#ifndef MUT_NOCLOSE
       slotClosed = true;
#endif
       timedOut = true
     }
  od
}

proctype Callee() {
  byte m;
end:
  do
  :: atomic {
       box?m;                         /* receive (takeNow, or woken as a waiting receiver) */
       if
       :: offering ->                 /* admitOfferer: the waiting request moves in at once */
          offering = false;
          box!REQ;
          listening = false;          /* `first`'s left branch wins: the slot arm is withdrawn */
          settled = true
       :: else -> skip
       fi;
       if
       :: m == REQ -> calleeGotRequest = true
       :: else -> skip
       fi
     };
     if
     :: m == REQ -> break
     :: else -> skip
     fi
  od;
  sendResp(R1)
}

#else
/* ------------------------------------------------------------------ Go beehive */
bool registered = false;        /* anonChannels[id] is present */
bool parked = false;            /* the caller blocks in select { resp = <-anonChan | <-timer } */
byte handed = NONE;             /* the response a rendezvous handed over */

/* RLock held across lookup and send; select { case ch <- resp: default: discard } */
inline sendResp(r) {
  atomic {
    timely[r] = pending && !expired && noneAccepted;
    if
    :: registered && parked && handed == NONE ->
       handed = r; accepted[r] = true; parked = false    /* rendezvous commits the caller's select */
    :: else -> skip                   /* nobody parked: discarded (or "bad anonName") */
    fi
  }
}

proctype Caller() {
  atomic { pending = true; registered = true };   /* Lock; anonChannels[id] = ch (PR #3413) */
  /* select { case reqChannel <- message: case <-time.After(timeout): } */
  if
  :: atomic { nfull(box) -> box!REQ }
  :: atomic { expired -> withdrawn = true; result = TIMEOUT }; goto cleanup
  fi;
  parked = true;                      /* reached select { case resp = <-anonChan: case <-timer: } */
  atomic {
    if
    :: handed != NONE -> result = handed
    :: expired && handed == NONE -> result = TIMEOUT
    fi;
    parked = false
  };
cleanup:
  atomic { registered = false; pending = false }  /* defer: Lock; delete; close(anonChan) */
}

proctype Callee() {
  byte m;
end:
  do
  :: atomic { box?m; if :: m == REQ -> calleeGotRequest = true :: else -> skip fi };
     if
     :: m == REQ -> break
     :: else -> skip
     fi
  od;
  sendResp(R1)
}
#endif

proctype Stray() {
  if
  :: skip
  :: sendResp(R2)
  fi
}

proctype Clock() {
  expired = true
}

/* At the end, each property is a named verdict, so that pan's report names what failed. */
proctype Monitor() {
  bool callNotFinished, lostResponse, acceptedNotReturned, returnedNotAccepted, twoAccepted;
  bool earlyTimeout, withdrawnRequestDelivered;
  timeout ->                          /* every other process has ended or blocks for good */
  d_step {
    /* the call returned and left no slot behind (R-SYNC-6) */
    callNotFinished = (result == NONE || pending || registered);
    /* a response that came in time, before any other was accepted, is the result (R-SYNC-4) */
    lostResponse = (timely[R1] && result != R1) || (timely[R2] && result != R2);
    /* a response sendResp accepted is the call's result (R-SYNC-4, R-RESP-1) */
    acceptedNotReturned = (accepted[R1] && result != R1) || (accepted[R2] && result != R2);
    /* the call never returns a response that was not accepted (R-RESP-1) */
    returnedNotAccepted = (result == R1 && !accepted[R1]) || (result == R2 && !accepted[R2]);
    /* only the first response is taken (R-RESP-2) */
    twoAccepted = accepted[R1] && accepted[R2];
    /* never a timeout before the deadline (R-SYNC-5) */
    earlyTimeout = (result == TIMEOUT && !expired);
    /* a request withdrawn from the wait for room is never delivered (R-SYNC-8) */
    withdrawnRequestDelivered = withdrawn && calleeGotRequest
  };
  assert(!callNotFinished);
  assert(!lostResponse);
  assert(!acceptedNotReturned);
  assert(!returnedNotAccepted);
  assert(!twoAccepted);
  assert(!earlyTimeout);
  assert(!withdrawnRequestDelivered)
}

init {
  atomic {
    if
    :: box!OTHER                      /* the mailbox is full: the request must wait for room */
    :: skip
    fi;
    run Caller();
    run Callee();
    run Stray();
    run Clock();
#ifndef GO
    run Timer();
#endif
    run Monitor()
  }
}
